"""The canvas's record of a mask edit made outside its tools (a selection filled in place).

A mixin of :class:`~inpaint_studio.ui.canvas.Canvas`; the tools themselves are Qt-free
classes (:mod:`inpaint_studio.core.pixels.tools`) whose edits the canvas applies.
"""

from __future__ import annotations

import numpy as np

from ..core.pixels.maskedit import (
    MaskPatch,
    Rect,
)


class CanvasEditing:
    """Mask editing for :class:`~inpaint_studio.ui.canvas.Canvas`."""

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
