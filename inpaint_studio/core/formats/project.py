"""Project files (``.inpaint``) and the recovery store: nothing a user made is lost.

A project is a zip (entries stored, not recompressed) with this layout; the recovery store
is the same layout as a plain folder, written piece by piece:

    manifest.json             format version, photo name, accepted edits, panel, jobs, variants
    original.<ext>            the photo's file, byte for byte
    mask.png                  the current mask, 1-bit, black = edit
    mask-strength.png         the soft mask's strength, 8-bit grey (only after a soft brush)
    accepted/<n>.png          each accepted edit: the box of the working image after it
    jobs/<id>-mask.png        the mask each job was sent with
    layers/<variant>.png      each variant's layer (RGBA of the mask's bounding box), lossless
    raw/<variant>.<ext>       each variant's image exactly as the provider returned it

``manifest.json`` carries ``"format"`` (:data:`FORMAT`); a newer one is refused with a clear
message, and keys this version does not know are kept when the project is saved again.
Saving is atomic (temporary file, flush, fsync, rename): a failure never destroys the last
good save.
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..atomic import atomic_write
from ..errors import InvalidInput
from ..pipeline.composite import Layer
from ..pixels.imaging import (
    Photo,
    ReferenceImage,
    encode_mask,
    load_image,
)
from .output import encode_png, file_extension

FORMAT = 1
KNOWN_KEYS = {
    "references",
    "format",
    "app",
    "saved",
    "photo",
    "mask",
    "mask_strength",
    "accepted",
    "panel",
    "jobs",
    "variants",
    "selected",
    "latest",
}
#: Most pixels of all the distinct variant layers of one project together (what opening or
#: exporting it decodes): 8 variants of a whole 18 MP photo are 150 MP.
MAX_LAYER_PIXELS = 400_000_000


class ProjectError(InvalidInput):
    """A project or recovery file cannot be read (damaged, truncated, or from a newer version)."""


@dataclass(eq=False)
class JobRecord:
    """A job as history keeps it (JSON-able except ``mask``, ``(H, W) bool`` or None)."""

    id: int
    provider: str
    label: str
    parameters: dict
    stage: str
    created: float
    finished: float | None = None
    error: str | None = None
    details: str = ""
    sent: dict = field(default_factory=dict)
    region: list | None = None  # [x0, y0, x1, y1, send_w, send_h, mode]
    remote_tasks: list = field(default_factory=list)
    draft_of: str | None = None
    notes: list = field(default_factory=list)
    model: str | None = None
    options: dict = field(default_factory=dict)  # the provider's own options (model, method…)
    results_saved: bool = False  # its results reached this copy (so never rebuilt from the journal)
    mask: np.ndarray | None = None
    style_references: list = field(default_factory=list)  # ReferenceImage
    character_references: list = field(default_factory=list)
    #: where the job's canvas (its mask's size) lies on the document's canvas now; None when
    #: unknown (a file written before Expand recorded it)
    offset: tuple[int, int] | None = (0, 0)

    def reference_files(self) -> list[tuple[str, str, ReferenceImage]]:
        """``(kind, file name in the project, ReferenceImage)`` for each reference image."""
        out = []
        import hashlib

        for kind, refs in (
            ("style", self.style_references),
            ("character", self.character_references),
        ):
            for ref in refs:  # stored once by content, however many jobs use it
                digest = hashlib.sha256(ref.data).hexdigest()[:24]
                out.append((kind, f"references/{digest}.{ref.format.lower()}", ref))
        return out

    def to_json(self) -> dict:
        d = {
            k: v
            for k, v in self.__dict__.items()
            if k not in ("mask", "style_references", "character_references", "offset")
        }
        d["mask"] = f"jobs/{self.id}-mask.png" if self.mask is not None else None
        d["size"] = (
            [int(self.mask.shape[1]), int(self.mask.shape[0])] if self.mask is not None else None
        )
        d["offset"] = list(self.offset) if self.offset is not None else None
        d["references"] = [
            {"kind": kind, "name": ref.name, "file": name, "format": ref.format}
            for kind, name, ref in self.reference_files()
        ]
        return d


@dataclass(eq=False)
class VariantRecord:
    """A variant layer with everything needed to show it and re-blend it."""

    id: str
    job: int
    index: int
    safe: bool
    name: str = ""
    seed: int | None = None
    prompt: str | None = None
    resolution: str | None = None
    style_type: str | None = None
    visible: bool = True
    opacity: float = 1.0
    feather: int = 4
    colour_match: bool = True
    final_of: str | None = None
    layer: Layer | None = None
    raw: bytes | None = None

    def to_json(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k not in ("layer", "raw")}
        d["layer"] = (
            {"file": f"layers/{self.id}.png", "x0": self.layer.x0, "y0": self.layer.y0}
            if self.layer
            else None
        )
        d["raw"] = f"raw/{self.id}.{file_extension(self.raw)}" if self.raw else None
        return d


@dataclass(eq=False)
class ProjectState:
    """Everything in a project: photo bytes, mask, accepted edits, history, variants, panel."""

    original: bytes
    original_name: str
    mask: np.ndarray
    accepted: list[tuple[tuple[int, int, int, int], np.ndarray]] = field(default_factory=list)
    jobs: list[JobRecord] = field(default_factory=list)
    variants: list[VariantRecord] = field(default_factory=list)
    panel: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    mask_alpha: np.ndarray | None = None  # the soft mask, (H, W) uint8, or None (hard)
    #: the request's reference images (the Generate panel's), by parameter name
    references: dict = field(default_factory=dict)
    selected: str | None = None  # the selected layer's id
    latest: list[str] = field(default_factory=list)  # the layers keys 1–8 flip through

    def working_photo(self) -> Photo:
        """Decode the original and replay the accepted edits (pixel work: run in a thread)."""
        photo = load_image(self.original, keep_source=True, name=self.original_name)
        if self.accepted:
            rgb = photo.rgb.copy()
            for (x0, y0, x1, y1), patch in self.accepted:
                rgb[y0:y1, x0:x1] = patch
            photo.rgb = rgb
        return photo

    def reference_files(self) -> list[tuple[str, str, ReferenceImage]]:
        """``(kind, file name in the project, ReferenceImage)`` of the request's references."""
        rec = JobRecord(0, "", "", {}, "", 0.0)
        rec.style_references = list(self.references.get("style_references", ()))
        rec.character_references = list(self.references.get("character_references", ()))
        return rec.reference_files()

    def manifest(self) -> dict:
        from ... import __version__

        ext = safe_extension(self.original_name)
        m = dict(self.extra)
        m.update(
            {
                "format": FORMAT,
                "app": f"Inpaint Studio {__version__}",
                "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "photo": {"name": self.original_name, "file": f"original{ext}"},
                "mask": "mask.png",
                "accepted": [
                    {"box": list(box), "file": f"accepted/{i}.png"}
                    for i, (box, _) in enumerate(self.accepted)
                ],
                "panel": self.panel,
                "jobs": [j.to_json() for j in self.jobs],
                "variants": [v.to_json() for v in self.variants],
                "selected": self.selected,
                "latest": list(self.latest),
                "references": [
                    {"kind": kind, "name": ref.name, "file": name, "format": ref.format}
                    for kind, name, ref in self.reference_files()
                ],
            }
        )
        m.pop("mask_strength", None)
        if self.mask_alpha is not None:
            m["mask_strength"] = "mask-strength.png"
        return m


def safe_extension(name: str) -> str:
    """The photo file's extension for the project's ``original.<ext>`` member: ``.png``,
    ``.jpg``… or ``.img`` — never anything taken as it is from a file that was read."""
    ext = Path(name.replace("\\", "/")).suffix.lower()
    return ext if re.fullmatch(r"\.[a-z0-9]{1,5}", ext) else ".img"


def _fingerprint(a: np.ndarray | None) -> tuple | None:
    """Shape and CRC-32 of an array (~10 ms for 18 MP), to skip rewriting an unchanged mask
    (its PNG takes ~0.3 s to encode)."""
    import zlib

    if a is None:
        return None
    return a.shape, a.dtype.str, zlib.crc32(np.ascontiguousarray(a).data.cast("B"))


def _grey_png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(a), "L").save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def _rgba_png(layer: Layer) -> bytes:
    """A layer as RGBA PNG at zlib level 6 (a few ms more than level 1 for a mask's box, a
    quarter smaller); pixels that are never shown (alpha 0) compress to nothing."""
    return encode_png(
        np.ascontiguousarray(layer.rgb), alpha=np.ascontiguousarray(layer.alpha), compress_level=6
    )


def files_of(state: ProjectState, manifest: dict, *, skip=lambda name: False):
    """Yield ``(name, bytes)`` for every file of the layout, each once (``skip`` avoids
    rewriting)."""
    written: set[str] = set()
    if not skip(manifest["photo"]["file"]):
        yield manifest["photo"]["file"], state.original
    if not skip("mask.png"):
        yield "mask.png", encode_mask(state.mask, edit_is_black=True)
    if state.mask_alpha is not None and not skip(
        "mask-strength.png"
    ):  # 8-bit grey: white = replace
        yield "mask-strength.png", _grey_png(state.mask_alpha)
    for entry, (_, patch) in zip(manifest["accepted"], state.accepted, strict=True):
        if not skip(entry["file"]):
            yield entry["file"], encode_png(patch)
    for j in state.jobs:
        name = f"jobs/{j.id}-mask.png"
        if j.mask is not None and not skip(name):
            yield name, encode_mask(j.mask, edit_is_black=True)
        for _, ref_name, ref in j.reference_files():
            if ref_name not in written and not skip(ref_name):
                written.add(ref_name)
                yield ref_name, ref.data
    for _, ref_name, ref in state.reference_files():
        if ref_name not in written and not skip(ref_name):
            written.add(ref_name)
            yield ref_name, ref.data
    for v in state.variants:
        d = v.to_json()
        if v.layer is not None and not skip(d["layer"]["file"]):
            yield d["layer"]["file"], _rgba_png(v.layer)
        if v.raw is not None and not skip(d["raw"]):
            yield d["raw"], v.raw


def save_project(path: str | Path, state: ProjectState, progress=None) -> None:
    """Write ``state`` to a ``.inpaint`` file atomically (pixel and file work: use a thread).

    Args:
        progress: ``progress(done, total)`` after each member and once written (called on
            the saving thread), or None.

    Raises:
        OSError: the file cannot be written (the previous file is left intact).
    """
    path = Path(path)
    manifest = state.manifest()
    total = 4 + len(state.accepted) + 2 * len(state.jobs) + len(state.variants)
    done = 0
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("manifest.json", json.dumps(manifest, indent=1, ensure_ascii=False))
        for name, data in files_of(state, manifest):
            z.writestr(name, data)
            done += 1
            if progress is not None:
                total = max(total, done + 1)
                progress(done, total)
    atomic_write(path, buf.getvalue())
    if progress is not None:
        progress(total, total)
