"""Shape tools: a rectangle dragged, and the lasso (dragged freehand, or a polygon clicked
vertex by vertex and closed by a double-click or Enter). Each fills its shape as one undo
step."""

from __future__ import annotations

from typing import ClassVar

from ..maskedit import MaskPatch, clip_rect, fill_polygon, sync_alpha
from .base import MaskTarget, Outline, Tool, ToolResult, ToolSpec


def fill_shape(target: MaskTarget, points: list[tuple[float, float]], value: bool) -> ToolResult:
    """Fill the polygon ``points`` (photo px) into the target's mask (and soft mask) with
    ``value``; the change as one patch."""
    mask = target.mask
    assert mask is not None
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    rect = clip_rect(
        (int(min(xs)) - 1, int(min(ys)) - 1, int(max(xs)) + 2, int(max(ys)) + 2), mask.shape
    )
    if rect is None:
        return ToolResult(redraw=True)
    x0, y0, x1, y1 = rect
    alpha = target.alpha
    before = mask[y0:y1, x0:x1].copy()
    before_alpha = alpha[y0:y1, x0:x1].copy() if alpha is not None else None
    fill_polygon(mask, points, value)
    if alpha is not None:
        sync_alpha(alpha, mask, rect)
    after_alpha = alpha[y0:y1, x0:x1] if alpha is not None else None
    patch = MaskPatch.capture(before, mask[y0:y1, x0:x1], rect, before_alpha, after_alpha)
    return ToolResult(changed=[rect], patch=patch if patch.changed else None, redraw=True)


def box(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The four corners (closed) of the rectangle two opposite corners span."""
    (ax, ay), (bx, by) = points
    return [(ax, ay), (bx, ay), (bx, by), (ax, by), (ax, ay)]


class RectTool(Tool):
    """Drag a rectangle; it is filled on release."""

    spec: ClassVar[ToolSpec] = ToolSpec("rect", "&Rectangle", "R", "Rectangle")

    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []
        self._value = True

    @property
    def busy(self) -> bool:
        return bool(self.points)

    def press(self, target, x, y, value, shift=False) -> ToolResult:
        self._value, self.points = value, [(x, y), (x, y)]
        return ToolResult(redraw=True)

    def move(self, target, x, y, held) -> ToolResult:
        if not (self.points and held):
            return ToolResult()
        self.points[1] = (x, y)
        return ToolResult(redraw=True)

    def release(self, target) -> ToolResult:
        if len(self.points) != 2:
            return ToolResult()
        corners, self.points = box(self.points), []
        return fill_shape(target, corners, self._value)

    def cancel(self) -> bool:
        had, self.points = bool(self.points), []
        return had

    def outline(self, target: MaskTarget) -> Outline | None:
        return Outline(tuple(box(self.points))) if len(self.points) == 2 else None


class LassoTool(Tool):
    """Drag a freehand outline (filled on release), or click vertices of a polygon and close
    it with a double-click or Enter."""

    spec: ClassVar[ToolSpec] = ToolSpec(
        "lasso", "&Lasso / polygon", "L", "Lasso (drag) / polygon (click, Enter)"
    )
    #: a drag of at least this many points is a freehand lasso (closed on release)
    MIN_DRAG_POINTS = 8

    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []
        self.dragging = False
        self._value = True

    @property
    def busy(self) -> bool:
        return bool(self.points)

    def press(self, target, x, y, value, shift=False) -> ToolResult:
        self._value = value
        if not self.points:
            self.points, self.dragging = [(x, y)], True
        else:  # polygon mode: add a vertex
            self.points.append((x, y))
        return ToolResult(redraw=True)

    def move(self, target, x, y, held) -> ToolResult:
        if not self.points:
            return ToolResult()
        if self.dragging and held:
            self.points.append((x, y))
        return ToolResult(redraw=True)  # the polygon's last edge follows the pointer

    def release(self, target) -> ToolResult:
        if not self.dragging:
            return ToolResult()
        self.dragging = False
        if len(self.points) >= self.MIN_DRAG_POINTS:  # a dragged lasso closes on release
            return self._close(target)
        return ToolResult()  # polygon mode: vertices by clicks, closed by double-click or Enter

    def double_click(self, target, x, y, value) -> ToolResult:
        return self._close(target) if len(self.points) >= 3 else ToolResult()

    def enter(self, target) -> ToolResult | None:
        return self._close(target) if len(self.points) >= 3 else None

    def _close(self, target: MaskTarget) -> ToolResult:
        points, self.points, self.dragging = self.points, [], False
        return fill_shape(target, points, self._value)

    def cancel(self) -> bool:
        had, self.points, self.dragging = bool(self.points), [], False
        return had

    def outline(self, target: MaskTarget) -> Outline | None:
        if not self.points:
            return None
        return Outline(tuple(self.points), to_cursor=not self.dragging)
