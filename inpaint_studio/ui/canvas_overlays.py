"""What the canvas draws: the photo at the pyramid level that fits the zoom, the layers,
the mask's overlay and outline, the feather band preview, the before/after divider and the
current tool's outline.

A mixin of :class:`~inpaint_studio.ui.canvas.Canvas` (it uses the canvas's geometry and
pyramid); kept apart so the canvas module stays about input and the document.
"""

from __future__ import annotations

import asyncio
import math

import numpy as np
import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, qRgba

from ..core.pixels.tools import BrushOutline, Outline
from .scaled_view import MAX_AREA_FACTOR, ScaledView, edges, premultiplied


class CanvasOverlays:
    """Overlay painting for :class:`~inpaint_studio.ui.canvas.Canvas`."""

    def _level(self) -> tuple[int, QImage | None, QImage | None]:
        """The smallest pyramid level with at least one pixel per device pixel (crisp at any
        device pixel ratio, never upscaled from a smaller level)."""
        f, photo, mask = 1, self._photo_img, self._mask_img
        ff = 1
        dz = self.device_zoom()
        for _, _, pimg, mimg in self._levels:
            ff *= 2
            if 1.0 / ff >= dz * 0.999:
                f, photo, mask = ff, pimg, mimg
            else:
                break
        return f, photo, mask

    def _scaled_view(self, f: int):
        """The :class:`ScaledView` of this zoom, or None when the view is not zoomed out, would
        be too large, or is still being made (the pyramid draws meanwhile)."""
        dpr = self.devicePixelRatioF()
        dz = self.zoom * dpr
        w, h = self.image_size
        size = (max(1, round(w * dz)), max(1, round(h * dz)))
        area = self.width() * self.height() * dpr * dpr
        if dz >= 1.0 or size[0] * size[1] > MAX_AREA_FACTOR * area:
            self._view = None  # its memory is not kept for a later zoom out
            return None
        if self._view is None or self._view.key != (f, size):
            self._view = None
            self._make_view(f, size)
            if self._view is None:
                return None
        self._view.set_dpr(dpr)
        return self._view

    def _make_view(self, f: int, size: tuple[int, int]) -> None:
        """Start making the view of ``size`` from level ``f`` in a worker thread (one at a
        time: the paint after it lands asks for the zoom shown then); without a running event
        loop (a script, a benchmark) it is made now."""
        if self._view_task is not None or self._view_failed == self._view_epoch:
            return  # one at a time; a view that failed is not retried until the photo changes
        photo = self.rgb if f == 1 else self._levels[f.bit_length() - 2][0]
        args = (photo, self._level_mask(f), self.image_size, f, size)
        lut = premultiplied(self._colour_table())
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._view = ScaledView(*args, lut)
            return
        self._view_pending = None
        self._view_task = task = loop.create_task(self._view_made(self._view_epoch, args, lut))
        task.add_done_callback(self._view_task_done)

    async def _view_made(self, epoch: int, args: tuple, lut: np.ndarray) -> None:
        try:
            view = await asyncio.to_thread(ScaledView, *args, lut, images=False)
        except Exception:
            self._view_failed = epoch  # the pyramid draws instead; reported by the done callback
            raise
        finally:
            if self._view_task is asyncio.current_task():
                self._view_task = None
        if not shiboken6.isValid(self):  # the canvas went with its window meanwhile
            return
        if epoch != self._view_epoch:  # another photo, or the soft mask, since it began
            self.update()
            return
        view.make_images()
        if self._view_pending is not None:  # strokes painted while it was being made
            view.update_mask(self._level_mask(view.f), self._view_pending)
        table = premultiplied(self._colour_table())
        if not np.array_equal(table, view.lut):  # the overlay's colour changed meanwhile
            view.set_lut(table)
        self._view = view
        self.update()

    def _view_task_done(self, task: asyncio.Task) -> None:
        if self._view_task is task:
            self._view_task = None
        if not task.cancelled() and task.exception() is not None:
            task.get_loop().call_exception_handler(
                {"message": "making the zoomed-out view failed", "exception": task.exception()}
            )

    def drop_view(self) -> None:
        """Forget the zoomed-out view and any being made (the photo or the overlay's source
        changed); the next paint starts a new one."""
        self._view = None
        self._view_epoch += 1

    def cancel_view(self) -> None:
        """Stop waiting for a view being made (the window closes)."""
        if self._view_task is not None:
            self._view_task.cancel()
            self._view_task = None

    def _level_mask(self, f: int) -> np.ndarray:
        if f == 1:
            return self._overlay_source()
        k = f.bit_length() - 2  # f = 2 ** (k + 1)
        return self._levels[k][1]

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.fillRect(event.rect(), QColor(46, 46, 50))
        if self.rgb is None:
            p.setPen(QColor(200, 200, 200))
            p.drawText(
                self.rect(),
                Qt.AlignmentFlag.AlignCenter,
                "Open a photo (Ctrl+O), drop one here, or paste it (Ctrl+V)",
            )
            p.end()
            return
        w, h = self.image_size
        # the photo region visible in the dirty rectangle
        a = self.to_photo(QPointF(event.rect().topLeft()))
        b = self.to_photo(QPointF(event.rect().bottomRight()) + QPointF(1, 1))
        x0, y0 = max(0.0, math.floor(a[0])), max(0.0, math.floor(a[1]))
        x1, y1 = min(float(w), math.ceil(b[0])), min(float(h), math.ceil(b[1]))
        if x1 <= x0 or y1 <= y0:
            p.end()
            return
        f, photo, mask = self._level()
        target = QRectF(self.to_screen(x0, y0), self.to_screen(x1, y1))
        source = QRectF(x0 / f, y0 / f, (x1 - x0) / f, (y1 - y0) / f)
        view = self._scaled_view(f)
        if view is not None:  # zoomed out: unscaled copies of the view kept at this zoom
            dpr = self.devicePixelRatioF()
            ox, oy = round(self.offset.x() * dpr) / dpr, round(self.offset.y() * dpr) / dpr
            p.drawImage(QPointF(ox, oy), view.photo)
        else:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.device_zoom() < 1.0)
            p.drawImage(target, photo, source)
        split_x = self.split * self.width() if self.split is not None else None
        if split_x is not None:  # layers only right of the divider: before | after
            p.save()
            p.setClipRect(QRectF(split_x, 0, self.width() - split_x, self.height()))
        shown = 0
        if not self.show_original:
            for layer in self.layers:
                if not layer.visible:
                    continue
                lh, lw = layer.rgba.shape[:2]
                lx0, ly0 = max(x0, layer.x0), max(y0, layer.y0)
                lx1, ly1 = min(x1, layer.x0 + lw), min(y1, layer.y0 + lh)
                if lx1 <= lx0 or ly1 <= ly0:
                    continue
                p.setOpacity(layer.opacity)
                p.drawImage(
                    QRectF(self.to_screen(lx0, ly0), self.to_screen(lx1, ly1)),
                    layer.image,
                    QRectF(lx0 - layer.x0, ly0 - layer.y0, lx1 - lx0, ly1 - ly0),
                )
                p.setOpacity(1.0)
                shown += 1
        if split_x is not None:
            p.restore()
        if self.overlay_visible and mask is not None:
            # the tint steps aside while a variant is shown (its outline stays), so results are
            # never tinted; it comes back while the user paints
            # nor is the original (Tab, the Original button): it is shown exactly as it is
            tinted = not self.show_original and not (self.variant_shown() and not self._stroking)
            if view is not None:
                if view.bbox is not None:
                    bx0, by0, bx1, by1 = view.bbox
                    at = QRectF(
                        ox + bx0 / dpr, oy + by0 / dpr, (bx1 - bx0) / dpr, (by1 - by0) / dpr
                    )
                    box = QRectF(bx0, by0, bx1 - bx0, by1 - by0)
                    if tinted:
                        p.drawImage(at, view.tint, box)
                    p.drawImage(at, view.edge, box)
            else:
                if tinted:
                    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
                    p.drawImage(target, mask, source)
                self._paint_outline(p, f, x0, y0, x1, y1)
        if self.feather_preview:
            self._paint_feather(p, f, x0, y0, x1, y1)
        if split_x is not None:
            self._paint_split(p, split_x)
        if self.expand_frame is not None:
            self._paint_expand_frame(p)
        if self.context_box is not None:
            pen = QPen(QColor(255, 210, 0), 1.5, Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            cx0, cy0, cx1, cy1 = self.context_box
            p.drawRect(QRectF(self.to_screen(cx0, cy0), self.to_screen(cx1, cy1)))
        self._paint_tool(p)
        if self.show_original:
            p.setPen(QColor(255, 255, 255))
            p.fillRect(QRectF(8, 8, 78, 22), QColor(0, 0, 0, 160))
            p.drawText(QRectF(8, 8, 78, 22), Qt.AlignmentFlag.AlignCenter, "Original")
        p.end()

    def _paint_outline(
        self, p: QPainter, f: int, x0: float, y0: float, x1: float, y1: float
    ) -> None:
        """A light outline along the mask's edge, so the mask reads on dark photos as well as
        light ones (computed only for the painted part of the displayed level)."""
        m = self._level_mask(f)
        sx0, sy0 = max(0, int(x0 // f) - 1), max(0, int(y0 // f) - 1)
        sx1, sy1 = min(m.shape[1], int(-(-x1 // f)) + 1), min(m.shape[0], int(-(-y1 // f)) + 1)
        if sx1 - sx0 < 3 or sy1 - sy0 < 3:
            return
        sub = m[sy0:sy1, sx0:sx1]
        if not sub[1:-1, 1:-1].any():
            return
        edge = edges(sub).view(np.uint8)  # set pixels with an unset 4-neighbour, lines excepted
        h, w = edge.shape
        img = QImage(edge.data, w, h, edge.strides[0], QImage.Format.Format_Indexed8)
        img.setColorTable([qRgba(0, 0, 0, 0), qRgba(255, 255, 255, 220)])
        ex0, ey0 = (sx0 + 1) * f, (sy0 + 1) * f
        p.drawImage(QRectF(self.to_screen(ex0, ey0), self.to_screen(ex0 + w * f, ey0 + h * f)), img)

    def _paint_feather(
        self, p: QPainter, f: int, x0: float, y0: float, x1: float, y1: float
    ) -> None:
        """Fill the band inside the mask edge where the blend fades in (``feather_preview``
        px wide, as :func:`~inpaint_studio.core.pipeline.composite.feather_alpha` uses it)."""
        import cv2

        m = self._level_mask(f)
        k = max(1, round(self.feather_preview / f))
        sx0, sy0 = max(0, int(x0 // f) - k - 1), max(0, int(y0 // f) - k - 1)
        sx1, sy1 = (
            min(m.shape[1], int(-(-x1 // f)) + k + 1),
            min(m.shape[0], int(-(-y1 // f)) + k + 1),
        )
        if sx1 <= sx0 or sy1 <= sy0:
            return
        sub = (m[sy0:sy1, sx0:sx1] > 0).view(np.uint8)
        if not sub.any():
            return
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
        inner = cv2.erode(sub, kernel, borderType=cv2.BORDER_REPLICATE)
        band = np.ascontiguousarray(sub & (1 - inner))
        h, w = band.shape
        img = QImage(band.data, w, h, band.strides[0], QImage.Format.Format_Indexed8)
        img.setColorTable([qRgba(0, 0, 0, 0), qRgba(255, 210, 0, 150)])
        p.drawImage(
            QRectF(self.to_screen(sx0 * f, sy0 * f), self.to_screen((sx0 + w) * f, (sy0 + h) * f)),
            img,
        )

    def _paint_expand_frame(self, p: QPainter) -> None:
        """The expanded canvas: its outline, the new margin shaded, a handle on each side."""
        left, top, right, bottom = self.expand_frame
        w, h = self.image_size
        outer = QRectF(self.to_screen(-left, -top), self.to_screen(w + right, h + bottom))
        inner = QRectF(self.to_screen(0, 0), self.to_screen(w, h))
        margin = QPainterPath()
        margin.addRect(outer)
        margin.addRect(inner)  # odd-even fill: only the margin
        p.fillPath(margin, QColor(120, 170, 255, 70))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor(120, 170, 255), 1.5, Qt.PenStyle.DashLine))
        p.drawRect(outer)
        p.setPen(QPen(QColor(0, 0, 0, 180), 1))
        p.setBrush(QColor(255, 255, 255))
        for pt in self.frame_handles().values():
            p.drawRect(QRectF(pt.x() - 6, pt.y() - 6, 12, 12))

    def _paint_split(self, p: QPainter, x: float) -> None:
        """The before/after divider with its handle and labels."""
        p.setPen(QPen(QColor(255, 255, 255, 230), 2))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        p.setBrush(QColor(255, 255, 255, 230))
        p.setPen(QPen(QColor(0, 0, 0, 160), 1))
        p.drawEllipse(QPointF(x, self.height() / 2), 9, 9)
        for text, left in (("Before", True), ("After", False)):
            box = QRectF(x - 70 if left else x + 8, 8, 62, 22)
            p.fillRect(box, QColor(0, 0, 0, 160))
            p.setPen(QColor(255, 255, 255))
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_tool(self, p: QPainter) -> None:
        """Draw what the tool in use shows: the brush's circle at the pointer, or the dashed
        outline of a shape being drawn."""
        shape = self.active_tool.outline(self)
        if isinstance(shape, BrushOutline):
            if not self.rect().contains(self._mouse.toPoint()) or self._split_drag:
                return
            r = shape.radius * self.zoom
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor(0, 0, 0, 200), 2.5))
            p.drawEllipse(self._mouse, r, r)
            p.setPen(QPen(QColor(255, 255, 255, 230), 1.0))
            p.drawEllipse(self._mouse, r, r)
            if shape.hardness < 1.0 and r * shape.hardness > 2:  # where full strength ends
                p.setPen(QPen(QColor(255, 255, 255, 170), 1.0, Qt.PenStyle.DashLine))
                p.drawEllipse(self._mouse, r * shape.hardness, r * shape.hardness)
        elif isinstance(shape, Outline) and shape.points:
            path = QPainterPath(self.to_screen(*shape.points[0]))
            for pt in shape.points[1:]:
                path.lineTo(self.to_screen(*pt))
            if shape.to_cursor:
                path.lineTo(self._mouse)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor(255, 255, 255), 1.2, Qt.PenStyle.DashLine))
            p.drawPath(path)
