"""The canvas's tools and handles (a mixin of :class:`~inpaint_studio.ui.canvas.Canvas`):
the tool in use — a Qt-free class of :mod:`inpaint_studio.core.pixels.tools` whose results
the canvas shows, records and passes on —, an edit made outside the tools (a selection
filled in place), the Expand frame's handles and zooming to a rectangle.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QCursor

from ..core.pixels.maskedit import (
    MaskPatch,
    Rect,
)
from ..core.pixels.tools import ToolResult, make_tool


class CanvasEditing:
    """Tools, handles and zoom targets for :class:`~inpaint_studio.ui.canvas.Canvas`."""

    @property
    def tool(self) -> str:
        """The name of the tool in use (its ``ToolSpec.name``)."""
        return self.active_tool.spec.name

    @property
    def _stroking(self) -> bool:
        return self.active_tool.spec.cursor == "brush" and self.active_tool.busy

    def set_tool(self, tool: str) -> None:
        """Use the tool called ``tool`` (a shape in progress is dropped).

        Raises:
            KeyError: no tool has that name.
        """
        self.active_tool = make_tool(tool)
        self._set_tool_cursor()
        self.update()

    def _set_tool_cursor(self) -> None:
        brush = self.active_tool.spec.cursor == "brush"
        self.setCursor(QCursor(Qt.CursorShape.BlankCursor if brush else Qt.CursorShape.CrossCursor))

    def ensure_soft(self) -> np.ndarray:
        """The document's soft mask, made now if it had none (a tool's first soft stroke)."""
        if self.alpha is None and self.soft_source is not None:
            self.use_soft_mask(self.soft_source())
        assert self.alpha is not None
        return self.alpha

    def _apply(self, result: ToolResult | None) -> None:
        """Show what a tool did, record its edit, pass on what it asked for."""
        if result is None:
            return
        for rect in result.changed:
            self.refresh_mask(rect)
        if result.patch is not None:
            self.mask_edited.emit(result.patch)
        if result.request is not None:
            kind, *args = result.request
            if kind == "wand":
                self.wand_requested.emit(*args)
            elif kind == "subject":
                self.subject_requested.emit(*args)
            elif kind == "subject marks":
                self.subject_marked.emit(*args)
        if result.redraw:
            self.update()

    def set_brush_radius(self, radius: float) -> None:
        self.brush_radius = max(0.5, min(2000.0, radius))
        self.update()

    def set_expand_frame(self, pad: tuple[int, int, int, int] | None, *, fit: bool = False) -> None:
        """Show the expanded canvas's outline with a drag handle on each side (None: hide)."""
        self.expand_frame = tuple(pad) if pad is not None else None
        if fit and pad is not None:
            w, h = self.image_size
            self.zoom_to_rect((-pad[0], -pad[1], w + pad[2], h + pad[3]), margin=0.04)
        self.update()

    def frame_handles(self) -> dict[str, QPointF]:
        """Screen positions of the Expand frame's side handles."""
        if self.expand_frame is None:
            return {}
        left, top, right, bottom = self.expand_frame
        w, h = self.image_size
        x0, y0, x1, y1 = -left, -top, w + right, h + bottom
        return {
            "left": self.to_screen(x0, (y0 + y1) / 2),
            "right": self.to_screen(x1, (y0 + y1) / 2),
            "top": self.to_screen((x0 + x1) / 2, y0),
            "bottom": self.to_screen((x0 + x1) / 2, y1),
        }

    def _handle_at(self, pos: QPointF) -> str | None:
        for side, p in self.frame_handles().items():
            if abs(p.x() - pos.x()) <= 10 and abs(p.y() - pos.y()) <= 10:
                return side
        return None

    def zoom_actual(self) -> None:
        """100 %: one photo pixel per device pixel."""
        self.set_zoom(1.0 / self.devicePixelRatioF())

    def zoom_to_rect(self, rect: Rect, margin: float = 0.15) -> None:
        """Fit photo rectangle ``rect`` (plus ``margin`` of its size each side) in the view."""
        x0, y0, x1, y1 = rect
        w, h = max(1, x1 - x0), max(1, y1 - y0)
        z = min(self.width() / (w * (1 + 2 * margin)), self.height() / (h * (1 + 2 * margin)))
        self.set_zoom(min(z, 8.0 / self.devicePixelRatioF()))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        self.offset = QPointF(self.width() / 2 - cx * self.zoom, self.height() / 2 - cy * self.zoom)
        self.update()

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
