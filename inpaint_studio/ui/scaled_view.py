"""The zoomed-out view, kept at the screen's own size: the photo, the mask's tint and its
outline resampled once per zoom to one pixel per device pixel, so a repaint of the whole
canvas is a few unscaled copies (panning never resamples; a mask edit redoes only the
rectangle it changed).

The canvas uses it when the view is zoomed out (fewer than one device pixel per photo pixel)
and the scaled photo is at most :data:`MAX_AREA_FACTOR` times the canvas; otherwise it
draws from the pyramid directly. A view is computed in a worker thread (numpy and OpenCV
only, ``images=False``) and wrapped in ``QImage`` s on the GUI thread by :meth:`make_images`
(shared/docs/qt-async-notes.md §8: no ``QImage`` off the GUI thread).
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtGui import QImage

#: the scaled photo may be at most this many times the canvas's area (device px)
MAX_AREA_FACTOR = 2.0
#: the outline's colour, premultiplied ARGB (white at 220/255)
OUTLINE = np.uint32(220 << 24 | 220 << 16 | 220 << 8 | 220)


def premultiplied(table: list[int]) -> np.ndarray:
    """``(256,) uint32`` premultiplied ARGB of a colour table of (straight) ``qRgba`` values."""
    t = np.asarray(table, np.uint64)
    a, r, g, b = (t >> 24) & 255, (t >> 16) & 255, (t >> 8) & 255, t & 255
    r, g, b = ((c * a + 127) // 255 for c in (r, g, b))
    return ((a << 24) | (r << 16) | (g << 8) | b).astype(np.uint32)


def spans(n_out: int, n_photo: int, f: int, n_level: int) -> np.ndarray:
    """``(3, n_out) intp``: for each output pixel, three level indices covering the photo
    pixels it shows (first, second, last; a level pixel spans ``f`` photo pixels; output
    pixels span at most two level pixels' width, so three indices cover each)."""
    c = np.arange(n_out, dtype=np.float64)
    scale = n_photo / n_out / f  # level px per output px (1 to 2 at the chosen level)
    s0 = np.minimum(np.floor(c * scale), n_level - 1).astype(np.intp)
    s1 = np.minimum(np.ceil((c + 1) * scale) - 1, n_level - 1).astype(np.intp)
    s1 = np.maximum(s0, s1)
    return np.stack([s0, np.minimum(s0 + 1, s1), s1])


def shrink_max(level: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``(len(rows[0]), len(cols[0])) uint8``: each output pixel the largest level value it
    covers (a one-pixel stroke never disappears when zoomed out)."""
    r0, r1 = int(rows.min()), int(rows.max()) + 1
    band = level[r0:r1]
    a = np.maximum(np.maximum(band[:, cols[0]], band[:, cols[1]]), band[:, cols[2]])
    rr = rows - r0
    return np.maximum(np.maximum(a[rr[0]], a[rr[1]]), a[rr[2]])


def edges(idx: np.ndarray) -> np.ndarray:
    """``(h-2, w-2) bool``: the set pixels of ``idx``'s interior with an unset 4-neighbour,
    except those of a line one pixel thin (unset on both sides): drawn in the outline's white
    it would vanish on a light photo, so it keeps the tint's colour."""
    s = idx > 0
    c = s[1:-1, 1:-1]
    up, down, left, right = s[:-2, 1:-1], s[2:, 1:-1], s[1:-1, :-2], s[1:-1, 2:]
    inner = up & down & left & right
    thin = ~(up | down) | ~(left | right)
    return c & ~inner & ~thin


class ScaledView:
    """Photo, tint and outline of one zoom, ``size`` = (width, height) device px.

    Args:
        photo_level: ``(h, w, 3) uint8`` the pyramid level drawn (``f`` photo px a pixel).
        mask_level: ``(h, w) uint8`` the overlay's level (0 clear, else strength).
        photo_size: the photo's (width, height), px.
        f: photo px per level px.
        size: the scaled view's (width, height), device px.
        lut: ``(256,) uint32`` premultiplied tint colour of each mask value.
        images: wrap the arrays in ``QImage`` s now (GUI thread only); with False, call
            :meth:`make_images` on the GUI thread before drawing.
    """

    def __init__(self, photo_level, mask_level, photo_size, f, size, lut, images=True) -> None:
        import cv2

        self.key = (f, size)
        self.f = f
        self.photo_size = photo_size
        self.size = sw, sh = size
        w, h = photo_size
        self.cols = spans(sw, w, f, mask_level.shape[1])
        self.rows = spans(sh, h, f, mask_level.shape[0])
        bgra = cv2.cvtColor(
            cv2.resize(photo_level, (sw, sh), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGRA
        )
        self._photo = bgra  # 0xAARRGGBB words on a little-endian machine: Format_RGB32
        self.lut = lut
        # one pixel of margin all round, always clear: the outline's neighbours exist
        self.idx = np.zeros((sh + 2, sw + 2), np.uint8)
        self._tint = np.zeros((sh, sw), np.uint32)
        self._edge = np.zeros((sh, sw), np.uint32)
        self.bbox: tuple[int, int, int, int] | None = None  # set pixels lie inside (x0, y0, x1, y1)
        self._redo(mask_level, 0, 0, sw, sh)
        if images:
            self.make_images()

    def make_images(self) -> None:
        """Wrap the photo, tint and outline arrays (no copy) as ``photo``, ``tint`` and
        ``edge`` ``QImage`` s; on the GUI thread only."""
        sw, sh = self.size
        self.photo = QImage(
            self._photo.data, sw, sh, self._photo.strides[0], QImage.Format.Format_RGB32
        )
        premul = QImage.Format.Format_ARGB32_Premultiplied
        self.tint = QImage(self._tint.data, sw, sh, sw * 4, premul)
        self.edge = QImage(self._edge.data, sw, sh, sw * 4, premul)

    def set_dpr(self, dpr: float) -> None:
        for img in (self.photo, self.tint, self.edge):
            img.setDevicePixelRatio(dpr)

    def set_lut(self, lut: np.ndarray) -> None:
        """A new overlay colour: the tint is redone from the kept mask values."""
        self.lut = lut
        self._tint[...] = lut[self.idx[1:-1, 1:-1]]

    def update_mask(self, mask_level: np.ndarray, rect: tuple[int, int, int, int]) -> None:
        """The mask changed inside photo ``rect`` (x0, y0, x1, y1): redo that part."""
        (w, h), (sw, sh) = self.photo_size, self.size
        x0 = max(0, math.floor(rect[0] * sw / w) - 1)
        y0 = max(0, math.floor(rect[1] * sh / h) - 1)
        x1 = min(sw, math.ceil(rect[2] * sw / w) + 1)
        y1 = min(sh, math.ceil(rect[3] * sh / h) + 1)
        if x1 > x0 and y1 > y0:
            self._redo(mask_level, x0, y0, x1, y1)

    def _redo(self, mask_level: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> None:
        sw, sh = self.size
        vals = shrink_max(mask_level, self.rows[:, y0:y1], self.cols[:, x0:x1])
        self.idx[y0 + 1 : y1 + 1, x0 + 1 : x1 + 1] = vals
        self._tint[y0:y1, x0:x1] = self.lut[vals]
        # the outline changes one pixel beyond what changed
        ex0, ey0, ex1, ey1 = max(0, x0 - 1), max(0, y0 - 1), min(sw, x1 + 1), min(sh, y1 + 1)
        e = edges(self.idx[ey0 : ey1 + 2, ex0 : ex1 + 2])
        self._edge[ey0:ey1, ex0:ex1] = np.where(e, OUTLINE, np.uint32(0))
        if (x0, y0, x1, y1) == (0, 0, sw, sh):
            ys, xs = np.nonzero(vals.any(axis=1))[0], np.nonzero(vals.any(axis=0))[0]
            self.bbox = (
                None if not len(ys) else (int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1)
            )
        elif vals.any():  # grows only (a shrinking mask keeps a larger box: still correct)
            box = (ex0, ey0, ex1, ey1)
            b = self.bbox or box
            self.bbox = (min(b[0], box[0]), min(b[1], box[1]), max(b[2], box[2]), max(b[3], box[3]))
