"""Tools that ask the application for the selection: the magic wand (a flood fill from the
pixel clicked) and Select subject (the object inside a dragged rectangle; a Shift-stroke
marks what to include, Shift+Alt what to exclude). The work runs off the GUI thread; the
tool only says what was asked."""

from __future__ import annotations

from typing import ClassVar

from .base import MaskTarget, Outline, Tool, ToolResult, ToolSpec
from .shapes import box


class WandTool(Tool):
    """A click asks for ``("wand", x, y, add)``: the similar colour around the pixel."""

    spec: ClassVar[ToolSpec] = ToolSpec("wand", "Magic &wand", "W", "Magic wand")

    def press(self, target, x, y, value, shift=False) -> ToolResult:
        return ToolResult(request=("wand", int(x), int(y), value))


class SubjectTool(Tool):
    """A dragged rectangle asks for ``("subject", (x0, y0, x1, y1), add)``; a Shift-stroke
    asks for ``("subject marks", [(x, y), …], include)``."""

    spec: ClassVar[ToolSpec] = ToolSpec(
        "subject",
        "Select &subject",
        "S",
        "Select subject: drag a rectangle; Shift-stroke to include, Shift+Alt to exclude",
    )

    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []
        self.marking = False  # a Shift-stroke (refinement), not a rectangle
        self._value = True

    @property
    def busy(self) -> bool:
        return bool(self.points)

    def press(self, target, x, y, value, shift=False) -> ToolResult:
        self._value, self.marking = value, shift
        self.points = [(x, y)] if shift else [(x, y), (x, y)]
        return ToolResult(redraw=True)

    def move(self, target, x, y, held) -> ToolResult:
        if not (self.points and held):
            return ToolResult()
        if self.marking:
            self.points.append((x, y))
        else:
            self.points[1] = (x, y)
        return ToolResult(redraw=True)

    def release(self, target) -> ToolResult:
        if not self.points:
            return ToolResult()
        points, self.points = self.points, []
        if self.marking:
            return ToolResult(request=("subject marks", points, self._value), redraw=True)
        (ax, ay), (bx, by) = points
        rect = (int(min(ax, bx)), int(min(ay, by)), int(max(ax, bx)) + 1, int(max(ay, by)) + 1)
        return ToolResult(request=("subject", rect, self._value), redraw=True)

    def cancel(self) -> bool:
        had, self.points = bool(self.points), []
        return had

    def outline(self, target: MaskTarget) -> Outline | None:
        if not self.points:
            return None
        return Outline(tuple(self.points if self.marking else box(self.points)))
