"""Brush and eraser: a stroke of round stamps, hard (the two-level mask) or soft (strength
into the soft mask), recorded as one undo step."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ..maskedit import MaskPatch, Rect, clip_rect, stamp_segment, stamp_soft, union
from .base import BrushOutline, MaskTarget, Tool, ToolResult, ToolSpec


def next_brush_size(size: int, direction: int, *, large: bool = False, limits=(1, 2000)) -> int:
    """The brush diameter (px) after ``[`` (``direction`` -1) or ``]`` (+1): a step of about
    10 % of the size, at least 1 px, five times that with Shift (``large``), as Photoshop
    steps; kept within ``limits``."""
    step = max(1, round(size * 0.1)) * (5 if large else 1)
    return max(limits[0], min(limits[1], size + direction * step))


class BrushTool(Tool):
    """Paints the mask (Alt: erases) along the pointer's path with the target's brush."""

    spec: ClassVar[ToolSpec] = ToolSpec(
        "brush", "&Brush", "B", "Brush (Alt: erase; [ ] size)", cursor="brush"
    )
    adds = True

    def __init__(self) -> None:
        self._last: tuple[float, float] | None = None
        self._value = True
        # (rect, mask before, soft mask before or None) of each stamp since the press
        self._atoms: list[tuple[Rect, np.ndarray, np.ndarray | None]] = []

    @property
    def busy(self) -> bool:
        return self._last is not None

    def press(self, target, x, y, value, shift=False) -> ToolResult:
        self._value = value and self.adds
        self._atoms = []
        self._last = (x, y)
        return ToolResult(changed=self._stamp(target, (x, y), (x, y)))

    def move(self, target, x, y, held) -> ToolResult:
        if self._last is None or not held:
            return ToolResult()
        changed = self._stamp(target, self._last, (x, y))
        self._last = (x, y)
        return ToolResult(changed=changed)

    def release(self, target) -> ToolResult:
        if self._last is None:
            return ToolResult()
        self._last = None
        return ToolResult(patch=self._finish(target))

    def _stamp(
        self, target: MaskTarget, p0: tuple[float, float], p1: tuple[float, float]
    ) -> list[Rect]:
        mask = target.mask
        assert mask is not None
        r = target.brush_radius
        rect = clip_rect(
            (
                int(min(p0[0], p1[0]) - r) - 2,
                int(min(p0[1], p1[1]) - r) - 2,
                int(max(p0[0], p1[0]) + r) + 3,
                int(max(p0[1], p1[1]) + r) + 3,
            ),
            mask.shape,
        )
        if rect is None:
            return []
        soft = target.brush_hardness < 1.0 or target.brush_opacity < 1.0
        alpha = target.ensure_soft() if soft and target.alpha is None else target.alpha
        x0, y0, x1, y1 = rect
        before = mask[y0:y1, x0:x1].copy()
        if alpha is not None:
            before_alpha = alpha[y0:y1, x0:x1].copy()
            changed = stamp_soft(
                alpha, mask, p0, p1, r, target.brush_hardness, target.brush_opacity, self._value
            )
        else:
            before_alpha = None
            changed = stamp_segment(mask, p0, p1, r, self._value)
        if changed is None:
            return []
        self._atoms.append((rect, before, before_alpha))
        return [rect]

    def _finish(self, target: MaskTarget) -> MaskPatch | None:
        atoms, self._atoms = self._atoms, []
        if not atoms:
            return None
        mask = target.mask
        assert mask is not None
        u = None
        for rect, _, _ in atoms:
            u = union(u, rect)
        assert u is not None
        x0, y0, x1, y1 = u
        after = mask[y0:y1, x0:x1]
        before = after.copy()
        soft = atoms[0][2] is not None and target.alpha is not None
        after_alpha = target.alpha[y0:y1, x0:x1] if soft and target.alpha is not None else None
        before_alpha = after_alpha.copy() if after_alpha is not None else None
        for (rx0, ry0, rx1, ry1), patch, alpha_patch in reversed(atoms):
            before[ry0 - y0 : ry1 - y0, rx0 - x0 : rx1 - x0] = patch
            if before_alpha is not None and alpha_patch is not None:
                before_alpha[ry0 - y0 : ry1 - y0, rx0 - x0 : rx1 - x0] = alpha_patch
        patch = MaskPatch.capture(before, after, u, before_alpha, after_alpha)
        return patch if patch.changed else None

    def outline(self, target: MaskTarget) -> BrushOutline:
        return BrushOutline(target.brush_radius, target.brush_hardness)


class EraserTool(BrushTool):
    """The brush, always removing from the mask."""

    spec: ClassVar[ToolSpec] = ToolSpec(
        "eraser", "&Eraser", "E", "Eraser ([ ] size)", cursor="brush"
    )
    adds = False
