"""The document's data types and events (Qt-free): what a session holds and tells its views.

:class:`Change` is what every subscriber of an
:class:`~inpaint_studio.core.session.EditSession` receives; :class:`VariantLayer` is a variant
shown as a layer; :class:`RecoverySummary` is one leftover recovery copy. Kept apart from the
session so that persistence reads and writes a document without importing the session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .jobs import Job, Variant
from .maskedit import Rect
from .request import RenderingSpeed


@dataclass(frozen=True)
class Change:
    """What changed in a session (the argument every subscriber receives).

    Attributes:
        kind: one of the class constants below.
        rect: ``(x0, y0, x1, y1)`` photo pixels that changed (``MASK``, ``IMAGE``), or None.
        key: the layer concerned (``LAYER``), or None.
        job: the job concerned (``JOB``), or None.
        message: a user sentence (``ERROR``), or which kind of ``JOB``/``MASK`` change it is.
    """

    kind: str
    rect: Rect | None = None
    key: str | None = None
    job: Job | None = None
    message: str = ""

    DOCUMENT = "document"  #: a new photo or project replaced everything
    MASK = "mask"  #: the mask changed inside ``rect``
    IMAGE = "image"  #: the working image changed inside ``rect`` (accept, undo of accept)
    LAYERS = "layers"  #: layers were added or removed
    LAYER = "layer"  #: one layer's visibility, opacity or pixels changed
    SELECTION = "selection"  #: the selected layer changed
    JOB = "job"  #: a job was added or moved on
    PARAMETERS = "parameters"  #: the request parameters were replaced (open, replay)
    STATUS = "status"  #: the unsaved flag or the file path changed
    ERROR = "error"  #: something failed; ``message`` says what


#: changes that alter what a save would write (they set the unsaved flag and start autosave)
CONTENT = frozenset(
    {Change.MASK, Change.IMAGE, Change.LAYERS, Change.LAYER, Change.JOB, Change.PARAMETERS}
)


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
        from .request import GrainMode

        return bool(self.variant.extra.get("grain", self.job.request.grain is GrainMode.AUTO))

    @property
    def is_draft(self) -> bool:
        return self.job.request.rendering_speed in (RenderingSpeed.TURBO, RenderingSpeed.FLASH)


def layer_name(job: Job, v: Variant, final_of: str | None = None) -> str:
    """``prompt · seed · speed`` (never Python's ``None``: an unknown seed reads "seed ?")."""
    short = job.request.prompt.strip()[:24] or "offline fill"
    seed = "seed ?" if v.seed is None else str(v.seed)
    name = f"{short} · {seed} · {job.request.rendering_speed.value}"
    return f"{name} · final of {final_of}" if final_of else name


Listener = Callable[[Change], None]


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
