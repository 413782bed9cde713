"""The canvas's mask editing: brush strokes (hard, or soft into the session's soft mask),
shapes, and the undo patch each stroke or shape becomes.

A mixin of :class:`~inpaint_studio.ui.canvas.Canvas`: edits are made in place on the
session's arrays (shown at once) and handed over as one :class:`MaskPatch` per stroke.
"""

from __future__ import annotations

import numpy as np

from ..core.pixels.maskedit import (
    MaskPatch,
    Rect,
    clip_rect,
    fill_polygon,
    stamp_segment,
    stamp_soft,
    sync_alpha,
    union,
)


class CanvasEditing:
    """Mask editing for :class:`~inpaint_studio.ui.canvas.Canvas`."""

    def _stamp(self, p0: tuple[float, float], p1: tuple[float, float]) -> None:
        assert self.mask is not None
        r = self.brush_radius
        rect = clip_rect(
            (
                int(min(p0[0], p1[0]) - r) - 2,
                int(min(p0[1], p1[1]) - r) - 2,
                int(max(p0[0], p1[0]) + r) + 3,
                int(max(p0[1], p1[1]) + r) + 3,
            ),
            self.mask.shape,
        )
        if rect is None:
            return
        soft = self.brush_hardness < 1.0 or self.brush_opacity < 1.0
        if soft and self.alpha is None and self.soft_source is not None:
            self.use_soft_mask(self.soft_source())
        x0, y0, x1, y1 = rect
        before = self.mask[y0:y1, x0:x1].copy()
        if self.alpha is not None:
            before_alpha = self.alpha[y0:y1, x0:x1].copy()
            changed = stamp_soft(
                self.alpha,
                self.mask,
                p0,
                p1,
                r,
                self.brush_hardness,
                self.brush_opacity,
                self._stroke_value,
            )
        else:
            before_alpha = None
            changed = stamp_segment(self.mask, p0, p1, r, self._stroke_value)
        if changed is not None:
            self._atoms.append((rect, before, before_alpha))
            self.refresh_mask(rect)

    def _finish_stroke(self) -> None:
        assert self.mask is not None
        atoms, self._atoms = self._atoms, []
        if not atoms:
            return
        u = None
        for rect, _, _ in atoms:
            u = union(u, rect)
        x0, y0, x1, y1 = u
        after = self.mask[y0:y1, x0:x1]
        before = after.copy()
        soft = atoms[0][2] is not None
        after_alpha = self.alpha[y0:y1, x0:x1] if soft else None
        before_alpha = after_alpha.copy() if soft else None
        for (rx0, ry0, rx1, ry1), patch, alpha_patch in reversed(atoms):
            before[ry0 - y0 : ry1 - y0, rx0 - x0 : rx1 - x0] = patch
            if soft:
                before_alpha[ry0 - y0 : ry1 - y0, rx0 - x0 : rx1 - x0] = alpha_patch
        patch = MaskPatch.capture(before, after, u, before_alpha, after_alpha)
        if patch.changed:
            self.mask_edited.emit(patch)

    def _commit_shape(self, value: bool) -> None:
        assert self.mask is not None
        points, self._shape_points = self._shape_points, []
        self._shape_drag = False
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        rect = clip_rect(
            (int(min(xs)) - 1, int(min(ys)) - 1, int(max(xs)) + 2, int(max(ys)) + 2),
            self.mask.shape,
        )
        if rect is None:
            self.update()
            return
        x0, y0, x1, y1 = rect
        before = self.mask[y0:y1, x0:x1].copy()
        before_alpha = self.alpha[y0:y1, x0:x1].copy() if self.alpha is not None else None
        fill_polygon(self.mask, points, value)
        if self.alpha is not None:
            sync_alpha(self.alpha, self.mask, rect)
        self.apply_region_edit(rect, before, before_alpha)

    def apply_region_edit(
        self, rect: Rect, before: np.ndarray, before_alpha: np.ndarray | None = None
    ) -> None:
        """Record an edit already made to ``rect`` (whose old contents are ``before`` and, with
        a soft mask, ``before_alpha``)."""
        assert self.mask is not None
        x0, y0, x1, y1 = rect
        after = self.mask[y0:y1, x0:x1]
        after_alpha = self.alpha[y0:y1, x0:x1] if before_alpha is not None else None
        patch = MaskPatch.capture(before, after, rect, before_alpha, after_alpha)
        self.refresh_mask(rect)
        self.update()
        if patch.changed:
            self.mask_edited.emit(patch)
