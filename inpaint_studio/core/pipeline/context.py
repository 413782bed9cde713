"""Which part of the photo is sent to the model, and at what size.

Ideogram works near 1 MP whatever it is given (shared/docs/providers.md: output snaps to
fixed sizes near 1 MP), so a small edit on a 20 MP photo sent whole gets a few dozen
model pixels. The rule:

- ``full``: the whole photo, at its own size (the upload encoder may still downscale it to
  keep the file under 10 MB).
- ``crop``: the mask's bounding box, padded by a quarter of its longer side (at least
  32 px), then grown around its centre to at least 1024 px a side where the photo allows
  (so never less than about 512 px a side unless the photo itself is smaller), kept inside
  the photo. A region under 0.9 MP is upscaled (at most 4×) to about 1 MP before sending.
- ``auto`` (default): ``crop`` when the photo is over 1.5 MP and the crop covers at most half
  of it; otherwise ``full``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import MaskError
from ..pixels.imaging import mask_bbox
from .request import ContextMode

TARGET_PIXELS = 1024 * 1024
MIN_CROP_SIDE = 1024
MAX_UPSCALE = 4.0


@dataclass(frozen=True)
class Region:
    """The rectangle of the photo that is sent, and the size it is sent at.

    Attributes:
        x0, y0, x1, y1: photo pixels, end exclusive.
        send_width, send_height: pixels of the image handed to the provider (before the
            upload encoder, which may downscale further).
        mode: the resolved mode, ``full`` or ``crop``.
    """

    x0: int
    y0: int
    x1: int
    y1: int
    send_width: int
    send_height: int
    mode: ContextMode

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def scale(self) -> float:
        """Sent pixels per photo pixel (> 1 = upscaled)."""
        return self.send_width / self.width

    def describe(self) -> dict:
        return {
            "context": self.mode.value,
            "box": [self.x0, self.y0, self.x1, self.y1],
            "send_size": [self.send_width, self.send_height],
            "scale": round(self.scale, 4),
        }


def _grow(lo: int, hi: int, want: int, limit: int) -> tuple[int, int]:
    """Grow ``[lo, hi)`` around its centre to ``want`` long, shifted to stay in ``[0, limit)``."""
    want = min(max(want, hi - lo), limit)
    centre = (lo + hi) / 2
    lo2 = int(round(centre - want / 2))
    lo2 = min(max(lo2, 0), limit - want)
    return lo2, lo2 + want


def _crop_box(bbox: tuple[int, int, int, int], size: tuple[int, int]) -> tuple[int, int, int, int]:
    w, h = size
    bx0, by0, bx1, by1 = bbox
    pad = max(32, round(0.25 * max(bx1 - bx0, by1 - by0)))
    x0, x1 = max(0, bx0 - pad), min(w, bx1 + pad)
    y0, y1 = max(0, by0 - pad), min(h, by1 + pad)
    x0, x1 = _grow(x0, x1, MIN_CROP_SIDE, w)
    y0, y1 = _grow(y0, y1, MIN_CROP_SIDE, h)
    return x0, y0, x1, y1


def plan_region(mask: np.ndarray, mode: ContextMode = ContextMode.AUTO) -> Region:
    """Choose the region to send for ``mask`` (``(H, W) bool``) under ``mode``.

    Raises:
        MaskError: the mask has no edit pixel.
    """
    h, w = mask.shape
    bbox = mask_bbox(mask)
    if bbox is None:
        raise MaskError("The mask is empty: paint the area to change first.")
    box = _crop_box(bbox, (w, h))
    if mode is ContextMode.AUTO:
        crop_area = (box[2] - box[0]) * (box[3] - box[1])
        mode = (
            ContextMode.CROP
            if (w * h > 1.5 * TARGET_PIXELS and crop_area <= 0.5 * w * h)
            else ContextMode.FULL
        )
    if mode is ContextMode.FULL:
        return Region(0, 0, w, h, w, h, ContextMode.FULL)
    x0, y0, x1, y1 = box
    rw, rh = x1 - x0, y1 - y0
    scale = 1.0
    if rw * rh < 0.9 * TARGET_PIXELS:
        scale = min(MAX_UPSCALE, math.sqrt(TARGET_PIXELS / (rw * rh)))
    return Region(
        x0, y0, x1, y1, max(1, round(rw * scale)), max(1, round(rh * scale)), ContextMode.CROP
    )


def extract(rgb: np.ndarray, mask: np.ndarray, region: Region) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``region`` out of the photo and mask and scale both to the send size.

    Args:
        rgb: ``(H, W, 3) uint8`` photo.
        mask: ``(H, W) bool``.

    Returns:
        ``((h, w, 3) uint8, (h, w) bool)`` at ``(region.send_width, region.send_height)``;
        the mask is resized nearest-neighbour so it stays two-level.
    """
    img = rgb[region.y0 : region.y1, region.x0 : region.x1]
    m = mask[region.y0 : region.y1, region.x0 : region.x1]
    size = (region.send_width, region.send_height)
    if size != (region.width, region.height):
        interp = cv2.INTER_AREA if region.scale < 1 else cv2.INTER_CUBIC
        img = cv2.resize(img, size, interpolation=interp)
        m = cv2.resize(m.view(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    return np.ascontiguousarray(img), np.ascontiguousarray(m)


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an ``(H, W) bool`` mask to ``size`` ``(width, height)``."""
    if (mask.shape[1], mask.shape[0]) == tuple(size):
        return mask
    return cv2.resize(mask.view(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
