"""Mask editing operations on a full-resolution ``(H, W) bool`` mask (Qt-free).

Each operation edits the mask in place and returns the rectangle it may have changed,
``(x0, y0, x1, y1)`` in photo pixels (end exclusive), or ``None`` when nothing changed. An
editor stores only those rectangles for undo (:class:`MaskPatch`), never whole copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

Rect = tuple[int, int, int, int]


def clip_rect(rect: Rect, shape: tuple[int, ...]) -> Rect | None:
    h, w = shape[:2]
    x0, y0, x1, y1 = rect
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, y0, x1, y1


def union(a: Rect | None, b: Rect | None) -> Rect | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _segment_distance(rect: Rect, p0: tuple[float, float], p1: tuple[float, float]) -> np.ndarray:
    """``(h, w) float32`` distance of each pixel centre in ``rect`` to the segment p0 → p1."""
    rx0, ry0, rx1, ry1 = rect
    x0, y0 = p0
    x1, y1 = p1
    ys = np.arange(ry0, ry1, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(rx0, rx1, dtype=np.float32)[None, :] + 0.5
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    if length2 < 1e-9:
        return np.sqrt((xs - x0) ** 2 + (ys - y0) ** 2)
    t = np.clip(((xs - x0) * dx + (ys - y0) * dy) / length2, 0.0, 1.0)
    return np.sqrt((xs - (x0 + t * dx)) ** 2 + (ys - (y0 + t * dy)) ** 2)


def stamp_soft(
    alpha: np.ndarray,
    mask: np.ndarray,
    p0: tuple[float, float],
    p1: tuple[float, float],
    radius: float,
    hardness: float,
    opacity: float,
    add: bool,
) -> Rect | None:
    """Paint a soft round brush along ``p0 → p1`` into a soft mask.

    ``alpha`` is the ``(H, W) uint8`` blend strength (0 keep … 255 replace) and ``mask`` the
    ``(H, W) bool`` edit region, kept equal to ``alpha > 0``. The brush is full strength
    (``opacity``, 0–1) out to ``hardness`` × ``radius`` px and falls smoothly to 0 at
    ``radius``. Adding keeps the stronger of old and new (a stroke never builds up past its
    opacity); erasing lowers the strength by the brush's.
    """
    r = max(0.5, float(radius))
    rect = clip_rect(
        (
            int(np.floor(min(p0[0], p1[0]) - r)) - 1,
            int(np.floor(min(p0[1], p1[1]) - r)) - 1,
            int(np.ceil(max(p0[0], p1[0]) + r)) + 2,
            int(np.ceil(max(p0[1], p1[1]) + r)) + 2,
        ),
        alpha.shape,
    )
    if rect is None:
        return None
    d = _segment_distance(rect, p0, p1)
    inner = r * min(1.0, max(0.0, hardness))
    if inner >= r - 1e-6:
        t = (d <= r).astype(np.float32)
    else:
        t = np.clip((r - d) / (r - inner), 0.0, 1.0)
        t = t * t * (3 - 2 * t)
    brush = np.rint(t * (255.0 * min(1.0, max(0.0, opacity)))).astype(np.uint8)
    if not brush.any():
        return None
    rx0, ry0, rx1, ry1 = rect
    a = alpha[ry0:ry1, rx0:rx1]
    if add:
        np.maximum(a, brush, out=a)
    else:
        a[...] = (a.astype(np.uint16) * (255 - brush) // 255).astype(np.uint8)
    mask[ry0:ry1, rx0:rx1] = a > 0
    return rect


def sync_alpha(alpha: np.ndarray, mask: np.ndarray, rect: Rect) -> None:
    """After a two-level edit of ``mask`` in ``rect``: newly masked pixels get full strength,
    unmasked ones none, the rest keep their softness."""
    x0, y0, x1, y1 = rect
    a, m = alpha[y0:y1, x0:x1], mask[y0:y1, x0:x1]
    a[m & (a == 0)] = 255
    a[~m] = 0


def stamp_segment(
    mask: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], radius: float, value: bool
) -> Rect | None:
    """Paint a round brush of ``radius`` px along the segment ``p0 → p1`` (photo pixels, x/y).

    The whole segment is filled, so a fast mouse leaves no gaps.
    """
    r = max(0.5, float(radius))
    x0, y0 = p0
    x1, y1 = p1
    rect = clip_rect(
        (
            int(np.floor(min(x0, x1) - r)) - 1,
            int(np.floor(min(y0, y1) - r)) - 1,
            int(np.ceil(max(x0, x1) + r)) + 2,
            int(np.ceil(max(y0, y1) + r)) + 2,
        ),
        mask.shape,
    )
    if rect is None:
        return None
    rx0, ry0, rx1, ry1 = rect
    # distance of each pixel centre in the rect to the segment
    ys = np.arange(ry0, ry1, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(rx0, rx1, dtype=np.float32)[None, :] + 0.5
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    if length2 < 1e-9:
        d2 = (xs - x0) ** 2 + (ys - y0) ** 2
    else:
        t = np.clip(((xs - x0) * dx + (ys - y0) * dy) / length2, 0.0, 1.0)
        d2 = (xs - (x0 + t * dx)) ** 2 + (ys - (y0 + t * dy)) ** 2
    inside = d2 <= r * r
    if not inside.any():
        return None
    mask[ry0:ry1, rx0:rx1][inside] = value
    return rect


def fill_polygon(mask: np.ndarray, points: list[tuple[float, float]], value: bool) -> Rect | None:
    """Fill the polygon through ``points`` (photo pixels; 2 points = a rectangle's corners)."""
    if len(points) == 2:
        (ax, ay), (bx, by) = points
        points = [(ax, ay), (bx, ay), (bx, by), (ax, by)]
    if len(points) < 3:
        return None
    pts = np.array(points, dtype=np.float64)
    rect = clip_rect(
        (
            int(np.floor(pts[:, 0].min())),
            int(np.floor(pts[:, 1].min())),
            int(np.ceil(pts[:, 0].max())) + 1,
            int(np.ceil(pts[:, 1].max())) + 1,
        ),
        mask.shape,
    )
    if rect is None:
        return None
    x0, y0, x1, y1 = rect
    sub = np.zeros((y1 - y0, x1 - x0), np.uint8)
    shifted = np.round((pts - (x0, y0)) * 16).astype(np.int32)
    cv2.fillPoly(sub, [shifted], 1, lineType=cv2.LINE_8, shift=4)
    mask[y0:y1, x0:x1][sub.astype(bool)] = value
    return rect


def magic_wand(
    rgb: np.ndarray, mask: np.ndarray, point: tuple[int, int], tolerance: int, value: bool
) -> Rect | None:
    """Add (or remove) the connected region of colours within ``tolerance`` (0–255) of ``point``.

    Args:
        rgb: ``(H, W, 3) uint8`` photo.
        point: ``(x, y)`` photo pixel.
    """
    h, w = mask.shape
    x, y = int(point[0]), int(point[1])
    if not (0 <= x < w and 0 <= y < h):
        return None
    flood = np.zeros((h + 2, w + 2), np.uint8)
    tol = (int(tolerance),) * 3
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
    # OpenCV wants a writable image even with FLOODFILL_MASK_ONLY (which leaves it unchanged)
    image = rgb if rgb.flags.writeable else rgb.copy()
    _, _, _, (rx, ry, rw, rh) = cv2.floodFill(image, flood, (x, y), (0, 0, 0), tol, tol, flags)
    region = flood[1 + ry : 1 + ry + rh, 1 + rx : 1 + rx + rw].astype(bool)
    mask[ry : ry + rh, rx : rx + rw][region] = value
    return rx, ry, rx + rw, ry + rh


def grow(mask: np.ndarray, pixels: int) -> Rect | None:
    """Grow (``pixels`` > 0) or shrink (< 0) the mask by a round structuring element."""
    from .imaging import mask_bbox

    bbox = mask_bbox(mask)
    if bbox is None or pixels == 0:
        return None
    n = abs(int(pixels))
    rect = clip_rect(
        (bbox[0] - n - 1, bbox[1] - n - 1, bbox[2] + n + 1, bbox[3] + n + 1), mask.shape
    )
    assert rect is not None
    x0, y0, x1, y1 = rect
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * n + 1, 2 * n + 1))
    sub = mask[y0:y1, x0:x1].view(np.uint8)
    op = cv2.dilate if pixels > 0 else cv2.erode
    out = op(
        sub,
        kernel,
        borderType=cv2.BORDER_REPLICATE if pixels < 0 else cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    mask[y0:y1, x0:x1] = out.astype(bool)
    return rect


@dataclass(eq=False)
class MaskPatch:
    """The change of a rectangle of the mask, stored as two bit-packed patches.

    A 1000×1000 px change costs 250 kB (two packed patches), whatever the photo's size.
    """

    rect: Rect
    before: np.ndarray
    after: np.ndarray
    alpha_before: bytes | None = None
    alpha_after: bytes | None = None

    @staticmethod
    def capture(
        before: np.ndarray,
        after: np.ndarray,
        rect: Rect,
        alpha_before: np.ndarray | None = None,
        alpha_after: np.ndarray | None = None,
    ) -> MaskPatch:
        """From the ``(h, w) bool`` contents of ``rect`` before and after the edit, and, for
        a soft mask, the ``(h, w) uint8`` strengths (stored zlib-compressed)."""
        import zlib

        if alpha_before is None or alpha_after is None:
            return MaskPatch(rect, np.packbits(before, axis=None), np.packbits(after, axis=None))
        return MaskPatch(
            rect,
            np.packbits(before, axis=None),
            np.packbits(after, axis=None),
            zlib.compress(np.ascontiguousarray(alpha_before).tobytes(), 1),
            zlib.compress(np.ascontiguousarray(alpha_after).tobytes(), 1),
        )

    def _unpack(self, packed: np.ndarray) -> np.ndarray:
        x0, y0, x1, y1 = self.rect
        n = (x1 - x0) * (y1 - y0)
        return np.unpackbits(packed, count=n).astype(bool).reshape(y1 - y0, x1 - x0)

    def apply(self, mask: np.ndarray, *, undo: bool, alpha: np.ndarray | None = None) -> None:
        """Put the ``before`` (``undo``) or ``after`` state back into ``mask`` and, when the
        document has a soft mask, into ``alpha``."""
        import zlib

        x0, y0, x1, y1 = self.rect
        mask[y0:y1, x0:x1] = self._unpack(self.before if undo else self.after)
        if alpha is None:
            return
        packed = self.alpha_before if undo else self.alpha_after
        if packed is None:
            sync_alpha(alpha, mask, self.rect)
        else:
            alpha[y0:y1, x0:x1] = np.frombuffer(zlib.decompress(packed), np.uint8).reshape(
                y1 - y0, x1 - x0
            )

    @property
    def nbytes(self) -> int:
        return (
            self.before.nbytes
            + self.after.nbytes
            + len(self.alpha_before or b"")
            + len(self.alpha_after or b"")
        )

    @property
    def changed(self) -> bool:
        return not np.array_equal(self.before, self.after) or self.alpha_before != self.alpha_after
