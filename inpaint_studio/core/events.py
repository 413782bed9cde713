"""Typed events and the one signal type every Qt-free model uses to announce them.

A view subscribes to a :class:`Signal` and receives event objects; it tells them apart by
type (``match event: case MaskChanged(rect=r): ...``), never by strings. Each event names
the part of the document that changed and carries only what a view needs to redraw it.
:attr:`Event.modifies` says whether the change alters what a save would write: those set
the document's unsaved flag and start the autosave (see
:class:`~inpaint_studio.core.document.session.EditSession`).

Modelled on napari's ``EventedModel`` and krita-ai-diffusion's ``Property`` signals, without
Qt: the core never imports it.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

if TYPE_CHECKING:
    from .pipeline.jobs import Job
    from .pixels.maskedit import Rect

T = TypeVar("T")


class Signal(Generic[T]):
    """A list of callbacks, each called with the emitted value in the order connected.

    A callback that raises is reported (traceback on stderr) and the others still run: a
    broken view must not break the document.
    """

    def __init__(self) -> None:
        self._slots: list[Callable[[T], object]] = []

    def connect(self, fn: Callable[[T], object]) -> Callable[[], None]:
        """Call ``fn(value)`` on every :meth:`emit`; returns a function that disconnects it."""
        self._slots.append(fn)
        return lambda: self.disconnect(fn)

    def disconnect(self, fn: Callable[[T], object] | None = None) -> None:
        """Disconnect ``fn`` (every callback when None); unknown callbacks are ignored."""
        if fn is None:
            self._slots.clear()
        elif fn in self._slots:
            self._slots.remove(fn)

    def emit(self, value: T) -> None:
        for fn in list(self._slots):
            try:
                fn(value)
            except Exception:  # noqa: BLE001 - reported, the other slots still run
                traceback.print_exc()

    def __len__(self) -> int:
        return len(self._slots)


@dataclass(frozen=True)
class Event:
    """Base of the document's events."""

    #: the change alters what a save would write (sets the unsaved flag, starts autosave)
    modifies: ClassVar[bool] = False


@dataclass(frozen=True)
class DocumentReplaced(Event):
    """A photo or project was opened, a recovery copy restored, or the canvas expanded (or
    that undone): every view shows the document anew."""

    #: the canvas was expanded or the expansion undone (the same document, another size)
    expanded: bool = False


@dataclass(frozen=True)
class MaskChanged(Event):
    """The mask changed inside ``rect`` (``(x0, y0, x1, y1)`` photo pixels)."""

    modifies: ClassVar[bool] = True
    rect: Rect
    #: the view that made the change already shows it (a stroke drawn as it was painted)
    shown: bool = False


@dataclass(frozen=True)
class MaskStrengthReady(Event):
    """The soft mask (blend strength) was made from the two-level mask: it looks the same,
    views switch to it; nothing a save writes changed."""

    rect: Rect


@dataclass(frozen=True)
class ImageChanged(Event):
    """The working image changed inside ``rect`` (an accept or its undo)."""

    modifies: ClassVar[bool] = True
    rect: Rect


@dataclass(frozen=True)
class LayersChanged(Event):
    """Layers were added or removed (the stack's order or membership)."""

    modifies: ClassVar[bool] = True


@dataclass(frozen=True)
class LayerChanged(Event):
    """One layer's visibility or opacity changed, or (``pixels``) its pixels (a re-blend)."""

    modifies: ClassVar[bool] = True
    key: str
    pixels: bool = False


@dataclass(frozen=True)
class SelectionChanged(Event):
    """The selected layer changed (``key`` None: none selected)."""

    key: str | None


@dataclass(frozen=True)
class JobAdded(Event):
    """A job entered the document's history (submitted, re-run or resumed)."""

    modifies: ClassVar[bool] = True
    job: Job


@dataclass(frozen=True)
class JobProgressed(Event):
    """A job moved on (stage, progress, sentence); ``recorded`` when what it has sent or
    started at the provider (its upload, its remote task ids) must reach the recovery copy
    now: a paid generation is never lost."""

    job: Job
    recorded: bool = False


@dataclass(frozen=True)
class ParamsChanged(Event):
    """The request's values changed: ``fields`` names them (parameter names of
    :mod:`~inpaint_studio.core.pipeline.params`, ``"provider"``, ``"provider_options"``)."""

    modifies: ClassVar[bool] = True
    fields: frozenset[str]


@dataclass(frozen=True)
class StatusChanged(Event):
    """The unsaved flag or the document's file changed (the window title)."""


@dataclass(frozen=True)
class ErrorRaised(Event):
    """Something failed; ``message`` is the sentence to show."""

    message: str
