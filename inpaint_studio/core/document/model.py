"""The document (Qt-free): the photo, its mask, the layer stack, the job history and the
request being edited, with the queries every view and file format reads.

A :class:`Document` is pure state: the application
(:class:`~inpaint_studio.core.document.session.EditSession`) changes it through its commands and
announces each change as a typed event (:mod:`~inpaint_studio.core.events`). Persistence
reads and writes a document through its public attributes, and opening a file swaps a new
document in. :class:`VariantLayer` is a variant shown as a layer; :class:`RecoverySummary` is
one leftover recovery copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..events import Event
from ..pipeline.composite import blend_into
from ..pipeline.jobs import Job, Variant
from ..pipeline.params import Kind, from_json, params, to_json
from ..pipeline.request import EditRequest
from ..pixels.imaging import Photo, ReferenceImage
from ..pixels.maskedit import Rect

#: request fields that are not :class:`~inpaint_studio.core.pipeline.request.EditRequest` arguments
PROVIDER_FIELDS = ("provider", "provider_options")
#: the editor's defaults where they differ from a parameter's own (two variants to compare)
EDITOR_DEFAULTS: dict[str, Any] = {"num_images": 2}


def default_request() -> dict[str, Any]:
    """A new editor document's request: every parameter's default, the offline engine."""
    return (
        {p.name: p.default for p in params()}
        | EDITOR_DEFAULTS
        | {"provider": "local", "provider_options": {}}
    )


def request_from_json(data: Any, references: dict | None = None) -> dict[str, Any]:
    """A document's request from its JSON form (a project's ``panel``, a history entry;
    untrusted: wrong types fall back to defaults) and its reference images
    (``{parameter name: tuple of ReferenceImage}``)."""
    data = data if isinstance(data, dict) else {}
    out = default_request() | {k: v for k, v in from_json(data).items() if k in data}
    if isinstance(data.get("provider"), str) and data["provider"]:
        out["provider"] = data["provider"]
    opts = data.get("provider_options")
    if isinstance(opts, dict):
        out["provider_options"] = {
            k: v for k, v in opts.items() if isinstance(k, str) and isinstance(v, str | int | None)
        }
    for name, refs in (references or {}).items():
        if name in out:
            out[name] = tuple(refs)
    return out


def request_to_json(request: dict[str, Any]) -> dict:
    """The JSON form of a document's request (reference images by name only: a project keeps
    their bytes apart, see :attr:`Document.references`)."""
    return to_json(request) | {
        "provider": request.get("provider", "local"),
        "provider_options": dict(request.get("provider_options") or {}),
    }


@dataclass(eq=False)
class VariantLayer:
    """A variant shown as a layer over the working image.

    Attributes:
        key: stable id (``"j<job>-<index>"``), unique in the session.
        job, variant: where it came from (``variant.layer`` is None when the safety filter
            withheld it: such a layer is listed but never drawn).
        name: what the Layers list shows.
        visible, opacity: view state (opacity 0–1).
        final_of: the key of the draft this QUALITY final replaced, or None.
    """

    key: str
    job: Job
    variant: Variant
    name: str
    visible: bool = False
    opacity: float = 1.0
    final_of: str | None = None

    @property
    def drawable(self) -> bool:
        return self.variant.layer is not None

    @property
    def feather(self) -> int:
        return int(self.variant.extra.get("feather", self.job.request.feather))

    @property
    def colour_match(self) -> bool:
        return bool(self.variant.extra.get("colour_match", self.job.request.colour_match))

    @property
    def grain(self) -> bool:
        """Whether the blend adds the photo's grain (when the result was upscaled)."""
        from ..pipeline.request import GrainMode

        return bool(self.variant.extra.get("grain", self.job.request.grain is GrainMode.AUTO))

    @property
    def is_draft(self) -> bool:
        return self.job.is_draft


def layer_name(job: Job, v: Variant, final_of: str | None = None) -> str:
    """``prompt · seed · speed`` (or quality; never Python's ``None``: an unknown seed reads
    "seed ?")."""
    short = job.request.prompt.strip()[:24] or "offline fill"
    seed = "seed ?" if v.seed is None else str(v.seed)
    name = f"{short} · {seed} · {job.setting}"
    return f"{name} · final of {final_of}" if final_of else name


Listener = Callable[[Event], None]


@dataclass
class RecoverySummary:
    """One leftover recovery copy, as the restore dialog lists it."""

    folder: Path
    name: str
    time: float
    jobs: int
    interrupted: int
    project_path: str | None = None
    problems: list[str] = field(default_factory=list)


class Document:
    """One photo being edited and everything done to it (Qt-free state, no events).

    Attributes:
        photo: the working image (accepted edits baked in), or None before a photo is open.
        photo_path, project_path: the files it came from and is saved to, or None.
        mask: ``(H, W) bool``, True = edit (the photo's size).
        mask_alpha: ``(H, W) uint8`` soft mask (blend strength 0–255, > 0 exactly where
            :attr:`mask` is set), made on the first soft or translucent brush stroke (None: a
            hard mask). Providers get the two-level mask only.
        mask_version: counts mask changes (cached uploads and snapshots key on it).
        accepted: ``(box, pixels)`` of each edit baked into the working image, oldest first.
        layers: the variant layers, bottom to top.
        jobs: the job history by id.
        draft_of: final job id → the key of the draft layer it replaces (or a label).
        results_saved: jobs whose results reached the recovery copy.
        request: the request being edited: every parameter of
            :mod:`~inpaint_studio.core.pipeline.params` by name (typed values, reference images
            included), ``provider`` and ``provider_options``.
        extra: other JSON-able facts kept with the project (accepted layers, expansion).
        selected: the selected layer's key, or None.
        latest: the layers keys 1–8 flip through (the newest job's drawable ones).
        unsaved: the document differs from its file.
        restored: it came from a crash's recovery copy.
    """

    def __init__(self, request: dict[str, Any] | None = None) -> None:
        self.photo: Photo | None = None
        self.photo_path: Path | None = None
        self.project_path: Path | None = None
        self.mask: np.ndarray | None = None
        self.mask_alpha: np.ndarray | None = None
        self.mask_version = 0
        self._snapshot: tuple | None = None  # (key, mask copy, soft mask copy)
        self.accepted: list[tuple[Rect, np.ndarray]] = []
        self.layers: list[VariantLayer] = []
        self.jobs: dict[int, Job] = {}
        self.draft_of: dict[int, str] = {}
        self.results_saved: set[int] = set()
        self.request: dict[str, Any] = dict(request) if request else default_request()
        self.extra: dict = {}
        self.selected: str | None = None
        self.latest: list[str] = []
        self.unsaved = False
        self.restored = False

    # -- names -------------------------------------------------------------------------------

    @property
    def display_name(self) -> str:
        if self.project_path is not None:
            return self.project_path.name
        if self.photo_path is not None:
            return self.photo_path.name
        return "Pasted image" if self.photo is not None else ""

    @property
    def title(self) -> str:
        """The window title: document name, ``*`` while unsaved, the program's name."""
        if self.photo is None:
            return "Inpaint Studio"
        return f"{self.display_name}{' *' if self.unsaved else ''} — Inpaint Studio"

    # -- the request -------------------------------------------------------------------------

    @property
    def references(self) -> dict[str, tuple[ReferenceImage, ...]]:
        """The request's reference images by parameter name (empty lists left out)."""
        return {
            p.name: tuple(self.request.get(p.name, ()))
            for p in params()
            if p.kind is Kind.IMAGES and self.request.get(p.name)
        }

    def update_request(self, changes: dict[str, Any]) -> frozenset[str]:
        """Set request fields; returns the names whose value really changed.

        Raises:
            KeyError: a name that is no request field.
        """
        changed = set()
        for name, value in changes.items():
            if name not in self.request:
                raise KeyError(name)
            if name == "provider_options":
                value = dict(value or {})
            elif isinstance(value, list):
                value = tuple(value)
            if self.request[name] != value:
                self.request[name] = value
                changed.add(name)
        return frozenset(changed)

    def edit_request(self, *, snapshot: bool = True) -> EditRequest | None:
        """The :class:`EditRequest` this document would send: its working image, its mask
        (read-only copies unless ``snapshot`` is False) and its request's values; None
        before a photo is open. The one way the editor, Replay and a project's reopened
        request are built (see :func:`~inpaint_studio.core.pipeline.params.make_request`)."""
        from ..pipeline.params import make_request

        if self.photo is None or self.mask is None:
            return None
        mask, alpha = self.mask_snapshot() if snapshot else (self.mask, self.mask_alpha)
        return make_request(self.photo, mask, self.request, mask_alpha=alpha)

    # -- the mask ----------------------------------------------------------------------------

    def soft_mask(self) -> np.ndarray | None:
        """The soft mask (``(H, W) uint8`` strength, see :attr:`mask_alpha`), made now from
        the two-level mask (full strength where it is set) if the document had none."""
        if self.mask is None:
            return None
        if self.mask_alpha is None:
            self.mask_alpha = self.mask.view(np.uint8) * np.uint8(255)
        return self.mask_alpha

    def mask_snapshot(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Read-only copies of the mask and the soft mask as they are now, shared by every
        caller until the mask changes (a job's request and each recovery save would each copy
        36 MB on 18 MP otherwise). Never write into them. Every change of the mask bumps
        :attr:`mask_version`, so the copies stay true."""
        assert self.mask is not None, "open a photo first"
        key = (id(self.mask), id(self.mask_alpha), self.mask_version)
        if self._snapshot is None or self._snapshot[0] != key:
            mask = self.mask.copy()
            alpha = self.mask_alpha.copy() if self.mask_alpha is not None else None
            for a in (mask, alpha):
                if a is not None:
                    a.flags.writeable = False
            self._snapshot = (key, mask, alpha)
        return self._snapshot[1], self._snapshot[2]

    def job_mask(self, job_id: int) -> np.ndarray:
        """Job ``job_id``'s mask on the current canvas (``(H, W) bool``): the mask it was sent
        with, moved by the Expands made since (see :attr:`Job.offset`).

        Raises:
            MaskError: it cannot be placed (made on a canvas whose place is unknown, or partly
                outside the current one after an undone Expand), with one sentence.
        """
        from ..errors import MaskError

        job = self.jobs.get(job_id)
        if job is None or self.mask is None:
            raise MaskError("That job is not in this document's history.")
        src = job.request.mask
        h, w = self.mask.shape
        if job.offset is None:
            raise MaskError(
                f"Job #{job_id} was made on a {src.shape[1]}×{src.shape[0]} canvas whose place "
                f"on this {w}×{h} one is not known, so its mask cannot be used here."
            )
        ox, oy = job.offset
        if (ox, oy) == (0, 0) and src.shape == (h, w):
            return src
        sh, sw = src.shape
        out = np.zeros((h, w), bool)
        x0, y0, x1, y1 = max(0, ox), max(0, oy), min(w, ox + sw), min(h, oy + sh)
        if x0 < x1 and y0 < y1:
            out[y0:y1, x0:x1] = src[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
        if int(out.sum()) != int(src.sum()):
            raise MaskError(
                f"Job #{job_id}'s mask lies partly outside this {w}×{h} canvas (it was made on "
                "the expanded canvas); redo the Expand to use it."
            )
        return out

    # -- layers ------------------------------------------------------------------------------

    def layer(self, key: str | None) -> VariantLayer | None:
        return next((lay for lay in self.layers if lay.key == key), None)

    def composite(self) -> np.ndarray:
        """``(H, W, 3) uint8``: the working image with the visible layers blended, bottom to
        top, at their opacity — exactly what the canvas shows (pixel work: use a thread)."""
        assert self.photo is not None, "open a photo first"
        out = self.photo.rgb.copy()
        for lay in self.layers:
            if lay.visible and lay.variant.layer is not None:
                blend_into(out, lay.variant.layer, lay.opacity)
        return out

    def export_metadata(self, *, details: bool = True) -> dict:
        """What an exported composite embeds (JSON-able, no pixels, no keys, no local paths:
        :func:`~inpaint_studio.core.formats.output.shareable`): the source file's name, the
        edits accepted into the working image (oldest first) and the visible layers (bottom
        to top) with the parameters that made them; with ``details`` False only the
        program's name."""
        from ..formats.output import shareable, variant_metadata

        accepted = self.extra.get("accepted_layers")
        record = {
            "app": "Inpaint Studio",
            "source": self.photo_path.name if self.photo_path else None,
            "accepted": list(accepted) if isinstance(accepted, list) else [],
            "layers": [
                variant_metadata(lay.job, lay.variant) | {"name": lay.name, "opacity": lay.opacity}
                for lay in self.layers
                if lay.visible and lay.drawable
            ],
        }
        out = shareable(record, details=details)
        assert out is not None
        return out
