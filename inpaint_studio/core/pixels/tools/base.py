"""What every mask tool is: its :class:`ToolSpec` (the row of the tool table), the
:class:`MaskTarget` it edits, what a gesture returns (:class:`ToolResult`) and what it draws
over the canvas (:class:`Outline`, :class:`BrushOutline`). Qt-free: a tool is driven with
photo coordinates and tested without widgets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import numpy as np

from ..maskedit import MaskPatch, Rect


@dataclass(frozen=True)
class ToolSpec:
    """One row of the tool table: the Tools menu, the canvas and the F1 sheet read it.

    Attributes:
        name: the tool's id (``MainWindow.set_tool(name)``, the action's ``tool_<name>``).
        label: the Tools menu's text (``&`` marks the mnemonic).
        key: its shortcut (one key).
        help: the F1 sheet's sentence.
        cursor: ``"brush"`` (the canvas draws the brush's outline instead of a pointer) or
            ``"cross"``.
    """

    name: str
    label: str
    key: str
    help: str
    cursor: str = "cross"


class MaskTarget(Protocol):
    """What a tool edits: the document's ``(H, W) bool`` mask (True = edit), in place, and the
    brush's settings. ``alpha`` is the ``(H, W) uint8`` soft mask or None;
    ``ensure_soft()`` makes it (the first soft or translucent stroke) and returns it."""

    mask: np.ndarray | None
    alpha: np.ndarray | None
    brush_radius: float  # photo pixels
    brush_hardness: float  # 0–1: full strength out to this fraction of the radius
    brush_opacity: float  # 0–1

    def ensure_soft(self) -> np.ndarray: ...


@dataclass(frozen=True)
class Outline:
    """A dashed outline in photo coordinates; ``to_cursor``: a last segment to the pointer
    (a polygon being clicked)."""

    points: tuple[tuple[float, float], ...]
    to_cursor: bool = False


@dataclass(frozen=True)
class BrushOutline:
    """The brush's circle at the pointer (``radius`` photo px; a dashed inner circle where
    full strength ends when ``hardness`` < 1)."""

    radius: float
    hardness: float


@dataclass
class ToolResult:
    """What a gesture did.

    Attributes:
        changed: photo pixels the mask changed in already (the view repaints them).
        patch: a finished edit, to be recorded as one undo step.
        request: work the tool asks the application for (a magic-wand fill, a subject
            selection): ``(kind, *arguments)``.
        redraw: the tool's outline changed.
    """

    changed: list[Rect] = field(default_factory=list)
    patch: MaskPatch | None = None
    request: tuple | None = None
    redraw: bool = False


class Tool:
    """A mask tool: ``press``, ``move`` (while the button is held or not), ``release``,
    ``double_click``, ``enter`` and ``cancel`` on a :class:`MaskTarget`, in photo pixels;
    ``value`` is True to add to the mask, False to subtract (Alt, the eraser); ``shift``
    is the modifier some tools use. Each returns a :class:`ToolResult` (nothing happened:
    an empty one)."""

    spec: ClassVar[ToolSpec]

    def press(
        self, target: MaskTarget, x: float, y: float, value: bool, shift: bool = False
    ) -> ToolResult:
        return ToolResult()

    def move(self, target: MaskTarget, x: float, y: float, held: bool) -> ToolResult:
        return ToolResult()

    def release(self, target: MaskTarget) -> ToolResult:
        return ToolResult()

    def double_click(self, target: MaskTarget, x: float, y: float, value: bool) -> ToolResult:
        """A quick second click: by default a press like any other (a dab is never lost)."""
        return self.press(target, x, y, value)

    def enter(self, target: MaskTarget) -> ToolResult | None:
        """Return or Enter on the canvas; None: the tool does not use it (it means Accept)."""
        return None

    def cancel(self) -> bool:
        """Escape: drop a shape in progress; whether there was one."""
        return False

    @property
    def busy(self) -> bool:
        """A gesture is in progress (a stroke, a shape being drawn)."""
        return False

    def outline(self, target: MaskTarget) -> Outline | BrushOutline | None:
        """What the canvas draws for this tool now."""
        return None
