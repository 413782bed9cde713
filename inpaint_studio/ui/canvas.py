"""The canvas: photo, mask overlay, variant layers, zoom/pan and the mask tools.

The mask is the full-resolution ``(H, W) bool`` array the core uses; the overlay wraps its
memory in an indexed ``QImage`` (no copy). For zoomed-out views the canvas keeps a pyramid
of half-size levels of photo and mask (built off the GUI thread on open) and draws the
smallest level that still has at least one pixel per screen pixel, so painting on a 20 MP
photo repaints only a small rectangle of a small image. Once per zoom it also makes, in a
worker thread, a view at the screen's own pixels (``scaled_view``) that later repaints copy
unscaled. Mask edits update the pyramid and that view only inside the rectangle they changed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QImage, qRgba
from PySide6.QtWidgets import QWidget

from ..core.pixels.maskedit import Rect, union
from ..core.pixels.tools import Tool, make_tool
from .canvas_edit import CanvasEditing
from .canvas_overlays import CanvasOverlays
from .pyramid import PhotoLevels, block_max
from .scaled_view import ScaledView, premultiplied


def rgb_qimage(arr: np.ndarray) -> QImage:
    """Wrap ``(H, W, 3) uint8`` memory (kept alive by the caller) as a ``QImage``."""
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_RGB888)


@dataclass(eq=False)
class LayerView:
    """A variant layer as shown: straight-alpha RGBA of its box (usually the layer's own memory)."""

    key: object
    x0: int
    y0: int
    rgba: np.ndarray
    visible: bool = True
    opacity: float = 1.0

    def __post_init__(self) -> None:
        h, w = self.rgba.shape[:2]
        self.image = QImage(
            self.rgba.data, w, h, self.rgba.strides[0], QImage.Format.Format_RGBA8888
        )


class Canvas(CanvasEditing, CanvasOverlays, QWidget):
    """Shows the photo and edits the mask.

    Signals:
        mask_edited(MaskPatch): one per stroke or fill, already applied and shown; the
            window records it in the session's undo history.
        cursor_moved(int, int): photo pixel under the cursor (-1, -1 outside).
        zoom_changed(float): screen px per photo px.
        wand_requested(int, int, bool): a magic-wand click at a photo pixel; bool = add.
    """

    mask_edited = Signal(object)
    cursor_moved = Signal(int, int)
    zoom_changed = Signal(float)
    wand_requested = Signal(int, int, bool)
    subject_requested = Signal(
        object, bool
    )  # (x0, y0, x1, y1) photo px, add (False: Alt, subtract)
    subject_marked = Signal(object, bool)
    expand_frame_changed = Signal(
        object
    )  # (left, top, right, bottom) px, dragged by a handle  # [(x, y), …] a refining stroke, include (False: Alt, exclude)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(320, 240)
        self.rgb: np.ndarray | None = None
        self.mask: np.ndarray | None = None  # the session's own array, shown without a copy
        self.alpha: np.ndarray | None = None  # the session's soft mask (uint8 strength), or None
        #: () -> the session's soft mask, made on demand (the first soft or translucent stroke)
        self.soft_source = None
        self.brush_hardness = 1.0  # 0–1: full strength out to this fraction of the radius
        self.brush_opacity = 1.0  # 0–1: a stroke's strength
        self.feather_preview: int | None = None  # px: the blend's band drawn inside the mask edge
        self.split: float | None = None  # before/after divider at this fraction of the width
        self._split_drag = False
        self.expand_frame: tuple[int, int, int, int] | None = (
            None  # Expand canvas preview (L, T, R, B)
        )
        self._frame_drag: str | None = None
        self._photo_img: QImage | None = None
        self._mask_img: QImage | None = None
        self._levels: list[tuple[np.ndarray, np.ndarray, QImage, QImage]] = []
        #: the photo levels of photos shown before (``photo_levels.pyramid(rgb, mask)``)
        self.photo_levels = PhotoLevels()
        self._view: ScaledView | None = None  # the zoomed-out view at its zoom, made on paint
        self._view_task: asyncio.Task | None = None  # making one in a worker thread
        self._view_epoch = 0  # bumped when the photo or the overlay's source changes
        self._view_failed = -1  # the epoch whose view could not be made
        self._view_pending: Rect | None = None  # mask changed here while a view was being made
        self.zoom = 1.0
        self.offset = QPointF(0, 0)
        #: the mask tool in use (a Qt-free class of ``core/pixels/tools``, driven in photo px)
        self.active_tool: Tool = make_tool("brush")
        self.brush_radius = 20.0
        self.overlay_visible = True
        self.overlay_color = QColor(255, 40, 90, 130)
        self.show_original = False
        self.layers: list[LayerView] = []
        self.context_box: Rect | None = None
        self._space = False
        self._pan_from: QPointF | None = None
        self._mouse = QPointF(-1000, -1000)

    # -- document ---------------------------------------------------------------------------

    def set_photo(
        self,
        rgb: np.ndarray,
        mask: np.ndarray,
        pyramid: list[tuple[np.ndarray, np.ndarray]],
        alpha: np.ndarray | None = None,
    ) -> None:
        """Show ``rgb`` with ``mask`` (and its soft mask ``alpha``; both wrapped, not copied)
        and a pyramid from :func:`build_pyramid` (of ``alpha`` when there is one)."""
        if self.rgb is not None and self.rgb is not rgb and self._levels:
            self.photo_levels.keep(self.rgb, [lv[0] for lv in self._levels])
        self.rgb = rgb
        self.mask = mask
        self.alpha = alpha
        self._photo_img = rgb_qimage(rgb)
        self._mask_img = self._mask_qimage(self._overlay_source())
        self._levels = [(r, m, rgb_qimage(r), self._mask_qimage(m)) for r, m in pyramid]
        self.drop_view()
        self.context_box = None
        self.fit()

    def set_rgb(self, rgb: np.ndarray, box: Rect) -> None:
        """Show a new working image (same size) that differs from the old one only in ``box``;
        the pyramid is recomputed inside the box only."""
        import cv2

        x0, y0, x1, y1 = box
        h, w = rgb.shape[:2]
        levels = []
        f = 1
        for lvl_rgb, lvl_mask, _, mimg in self._levels:
            f *= 2
            new = lvl_rgb.copy()
            bx0, by0 = (x0 // f) * f, (y0 // f) * f
            bx1, by1 = min(w, -(-x1 // f) * f), min(h, -(-y1 // f) * f)
            small = cv2.resize(
                rgb[by0:by1, bx0:bx1],
                (-(-(bx1 - bx0) // f), -(-(by1 - by0) // f)),
                interpolation=cv2.INTER_AREA,
            )
            new[by0 // f : by0 // f + small.shape[0], bx0 // f : bx0 // f + small.shape[1]] = small
            levels.append((new, lvl_mask, rgb_qimage(new), mimg))
        self.rgb = rgb
        self._photo_img = rgb_qimage(rgb)
        self._levels = levels
        self.drop_view()
        self.update()

    def _overlay_source(self) -> np.ndarray:
        """The array the overlay shows: the soft mask's strengths, else the mask's 0/1 bytes."""
        return self.alpha if self.alpha is not None else self.mask.view(np.uint8)

    def use_soft_mask(self, alpha: np.ndarray) -> None:
        """Show (and paint into) the session's soft mask from now on (no copy; the pyramid's
        0/1 levels read as full strength, so nothing is rebuilt)."""
        self.alpha = alpha
        self._mask_img = self._mask_qimage(alpha)
        self.drop_view()
        self.update()

    def _colour_table(self) -> list[int]:
        """Index 0 clear, 1 (a two-level mask's "set") and 255 full overlay colour, values in
        between a soft mask's strength as proportional opacity."""
        c = self.overlay_color
        table = [
            qRgba(c.red(), c.green(), c.blue(), round(c.alpha() * v / 255)) for v in range(256)
        ]
        table[0] = qRgba(0, 0, 0, 0)
        table[1] = qRgba(c.red(), c.green(), c.blue(), c.alpha())
        return table

    def _mask_qimage(self, m: np.ndarray) -> QImage:
        h, w = m.shape
        img = QImage(m.data, w, h, m.strides[0], QImage.Format.Format_Indexed8)
        img.setColorTable(self._colour_table())
        return img

    def set_overlay_color(self, color: QColor) -> None:
        self.overlay_color = QColor(color)
        table = self._colour_table()
        for img in [self._mask_img] + [lv[3] for lv in self._levels]:
            if img is not None:
                img.setColorTable(table)
        if self._view is not None:
            self._view.set_lut(premultiplied(table))
        self.update()

    @property
    def image_size(self) -> tuple[int, int]:
        return (self.rgb.shape[1], self.rgb.shape[0]) if self.rgb is not None else (0, 0)

    def refresh_mask(self, rect: Rect | None = None) -> None:
        """Bring the overlay pyramid up to date after the mask changed in ``rect`` (None = all)."""
        if self.mask is None:
            return
        h, w = self.mask.shape
        if rect is None:
            rect = (0, 0, w, h)
        f = 1
        for _, level_mask, _, _ in self._levels:
            f *= 2
            x0, y0 = (rect[0] // f) * f, (rect[1] // f) * f
            x1, y1 = min(w, -(-rect[2] // f) * f), min(h, -(-rect[3] // f) * f)
            level_mask[y0 // f : -(-y1 // f), x0 // f : -(-x1 // f)] = block_max(
                self._overlay_source()[y0:y1, x0:x1], f
            )
        if self._view is not None:
            self._view.update_mask(self._level_mask(self._view.f), rect)
        if self._view_task is not None:
            self._view_pending = union(self._view_pending, rect)
        self._update_photo_rect(rect)

    # -- geometry ---------------------------------------------------------------------------

    def fit(self) -> None:
        """Show the whole photo; it stays fitted as the canvas resizes until the user zooms or pans."""
        w, h = self.image_size
        if not w:
            return
        z = min(self.width() / w, self.height() / h) * 0.98
        self.set_zoom(z, QPointF(self.width() / 2, self.height() / 2), centre=True)
        self._fitted = True

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if getattr(self, "_fitted", False):
            self.fit()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None, centre: bool = False) -> None:
        """Zoom to ``zoom`` keeping the photo point under ``anchor`` (screen) still."""
        zoom = max(0.01, min(32.0, zoom))
        self._fitted = False
        if anchor is None:
            anchor = QPointF(self.width() / 2, self.height() / 2)
        if centre:
            w, h = self.image_size
            self.offset = QPointF((self.width() - w * zoom) / 2, (self.height() - h * zoom) / 2)
        else:
            p = self.to_photo(anchor)
            self.offset = QPointF(anchor.x() - p[0] * zoom, anchor.y() - p[1] * zoom)
        self.zoom = zoom
        self.zoom_changed.emit(zoom)
        self.update()

    def to_photo(self, pos: QPointF) -> tuple[float, float]:
        return (pos.x() - self.offset.x()) / self.zoom, (pos.y() - self.offset.y()) / self.zoom

    def to_screen(self, x: float, y: float) -> QPointF:
        return QPointF(self.offset.x() + x * self.zoom, self.offset.y() + y * self.zoom)

    def _screen_rect(self, rect: Rect, margin: float = 2) -> QRect:
        x0, y0, x1, y1 = rect
        a, b = self.to_screen(x0, y0), self.to_screen(x1, y1)
        return QRectF(a, b).adjusted(-margin, -margin, margin, margin).toAlignedRect()

    def _update_photo_rect(self, rect: Rect) -> None:
        self.update(self._screen_rect(rect, margin=self.brush_radius * self.zoom + 3))

    # -- painting ---------------------------------------------------------------------------

    def device_zoom(self) -> float:
        """Device pixels per photo pixel (``zoom`` is logical px per photo px; at a device
        pixel ratio of 2, "100 %" is ``zoom`` 0.5: one photo pixel per device pixel)."""
        return self.zoom * self.devicePixelRatioF()

    def set_show_original(self, on: bool) -> None:
        self.show_original = on
        self.update()

    def set_split(self, on: bool) -> None:
        """Before/after split view: the original left of a draggable divider, the result right."""
        self.split = 0.5 if on else None
        self.update()

    def set_feather_preview(self, px: int | None) -> None:
        """Show the blend's feather band (``px`` wide inside the mask edge), or hide it."""
        self.feather_preview = px if px else None
        self.update()

    def variant_shown(self) -> bool:
        """Whether a visible variant layer is drawn (not while the original is shown)."""
        return not self.show_original and any(lv.visible for lv in self.layers)

    def _cursor_dirty(self, pos: QPointF) -> QRect:
        r = self.brush_radius * self.zoom + 4
        return QRectF(pos.x() - r, pos.y() - r, 2 * r, 2 * r).toAlignedRect()

    # -- input ------------------------------------------------------------------------------

    def wheelEvent(self, event) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom * (1.25**steps), event.position())

    def event(self, event) -> bool:
        """Return, Enter and Escape go to the tool first while it draws a shape: an open
        polygon closes (or is dropped) before Enter means Accept."""
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape)
            and self.active_tool.busy
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setCursor(QCursor(Qt.CursorShape.OpenHandCursor))
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.mask is not None:
            done = self.active_tool.enter(self)  # an open polygon closes before Enter accepts
            if done is not None:
                self._apply(done)
                return
        if event.key() == Qt.Key.Key_Escape and self.active_tool.cancel():
            self.update()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._set_tool_cursor()
            return
        super().keyReleaseEvent(event)

    @staticmethod
    def _value_for(event) -> bool:
        """Add to the mask, or (Alt) subtract from it."""
        return not event.modifiers() & Qt.KeyboardModifier.AltModifier

    def _near_split(self, pos: QPointF) -> bool:
        return self.split is not None and abs(pos.x() - self.split * self.width()) <= 8

    def mousePressEvent(self, event) -> None:  # noqa: N802
        pos = event.position()
        if (
            event.button() == Qt.MouseButton.LeftButton
            and (side := self._handle_at(pos)) is not None
        ):
            self._frame_drag = side  # an Expand handle: the frame changes, nothing is painted
            return
        if event.button() == Qt.MouseButton.LeftButton and self._near_split(pos):
            self._split_drag = True  # the divider is dragged, nothing is painted
            return
        if event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._space
        ):
            self._pan_from = pos
            self.setCursor(QCursor(Qt.CursorShape.ClosedHandCursor))
            return
        if event.button() != Qt.MouseButton.LeftButton or self.mask is None:
            return
        # a press always paints, whether or not the canvas had the keyboard (as in Photoshop
        # and Krita: a stroke is never lost to focus)
        x, y = self.to_photo(pos)
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        result = self.active_tool.press(self, x, y, self._value_for(event), shift)
        if self._stroking and self.variant_shown():
            self.update()  # the mask's tint comes back while painting
        self._apply(result)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        pos = event.position()
        old = self._mouse
        self._mouse = pos
        if self._split_drag:
            self.split = min(1.0, max(0.0, pos.x() / max(1, self.width())))
            self.update()
            return
        if self._frame_drag is not None and self.expand_frame is not None:
            x, y = self.to_photo(pos)
            w, h = self.image_size
            left, top, right, bottom = self.expand_frame
            if self._frame_drag == "left":
                left = max(0, round(-x))
            elif self._frame_drag == "right":
                right = max(0, round(x - w))
            elif self._frame_drag == "top":
                top = max(0, round(-y))
            else:
                bottom = max(0, round(y - h))
            self.expand_frame = (left, top, right, bottom)
            self.expand_frame_changed.emit(self.expand_frame)
            self.update()
            return
        brush = self.active_tool.spec.cursor == "brush"
        if self.split is not None and brush:
            self.setCursor(
                QCursor(
                    Qt.CursorShape.SplitHCursor
                    if self._near_split(pos)
                    else Qt.CursorShape.BlankCursor
                )
            )
        if self._pan_from is not None:
            d = pos - self._pan_from
            self._pan_from = pos
            self.offset += d
            self._fitted = False
            self.update()
            return
        x, y = self.to_photo(pos)
        w, h = self.image_size
        self.cursor_moved.emit(int(x) if 0 <= x < w else -1, int(y) if 0 <= y < h else -1)
        if self.mask is not None:
            held = bool(event.buttons() & Qt.MouseButton.LeftButton)
            self._apply(self.active_tool.move(self, x, y, held))
        if brush:
            self.update(self._cursor_dirty(old))
            self.update(self._cursor_dirty(pos))

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._frame_drag is not None:
            self._frame_drag = None
            return
        if self._split_drag:
            self._split_drag = False
            self.update()
            return
        if self._pan_from is not None and event.button() in (
            Qt.MouseButton.MiddleButton,
            Qt.MouseButton.LeftButton,
        ):
            self._pan_from = None
            self._set_tool_cursor() if not self._space else self.setCursor(
                QCursor(Qt.CursorShape.OpenHandCursor)
            )
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if self.mask is None:
            return
        stroke = self._stroking
        self._apply(self.active_tool.release(self))
        if stroke and self.variant_shown():
            self.update()

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        tool = self.active_tool
        if type(tool).double_click is Tool.double_click or self.mask is None:
            self.mousePressEvent(event)  # a quick second dab is a press like any other, not lost
            return
        x, y = self.to_photo(event.position())
        self._apply(tool.double_click(self, x, y, self._value_for(event)))

    def leaveEvent(self, event) -> None:  # noqa: N802
        self.update(self._cursor_dirty(self._mouse))
        self._mouse = QPointF(-1000, -1000)
        self.cursor_moved.emit(-1, -1)
