"""Display helpers on numpy arrays (thread work, no Qt): the half-size pyramid the canvas
draws zoomed-out views from, layer buffers and thumbnails."""

from __future__ import annotations

import numpy as np

MAX_LEVELS = 5


def layer_rgba(layer) -> np.ndarray:
    """The layer's straight-alpha ``(h, w, 4) uint8`` buffer: its own when it has one (no copy;
    Qt draws straight RGBA as fast as premultiplied), else a new one (thread work)."""
    if layer.rgba is not None:
        return layer.rgba
    return np.dstack([layer.rgb, layer.alpha])


def thumbnail(rgba: np.ndarray, size: int) -> np.ndarray:
    """A copy of ``rgba`` fitted inside ``size`` × ``size`` px (thread work)."""
    import cv2

    h, w = rgba.shape[:2]
    s = size / max(h, w)
    return cv2.resize(
        rgba, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA
    )


def variant_thumbnail(photo_rgb: np.ndarray, layer, size: int) -> np.ndarray:
    """``(h, w, 3) uint8``: the variant's region with a margin of its surroundings (a quarter
    of its size each side), blended over the photo, fitted inside ``size`` px (thread work)."""
    from ..core.pipeline.composite import blend_into

    x0, y0, x1, y1 = layer.box
    H, W = photo_rgb.shape[:2]
    mx, my = max(4, (x1 - x0) // 4), max(4, (y1 - y0) // 4)
    ex0, ey0, ex1, ey1 = max(0, x0 - mx), max(0, y0 - my), min(W, x1 + mx), min(H, y1 + my)
    region = np.ascontiguousarray(photo_rgb[ey0:ey1, ex0:ex1]).copy()
    blend_into(region, type(layer)(x0 - ex0, y0 - ey0, layer.rgb, layer.alpha))
    return thumbnail(region, size)


def downsample_rgb(rgb: np.ndarray) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    return cv2.resize(rgb, ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA)


def block_max(mask: np.ndarray, f: int) -> np.ndarray:
    """Downsample a 0/1 mask by ``f`` keeping any set pixel (so thin strokes stay visible)."""
    h, w = mask.shape
    H, W = -(-h // f) * f, -(-w // f) * f
    if (H, W) != (h, w):
        padded = np.zeros((H, W), np.uint8)
        padded[:h, :w] = mask
        mask = padded
    return mask.view(np.uint8).reshape(H // f, f, W // f, f).max(axis=(1, 3))


def build_pyramid(rgb: np.ndarray, mask: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Half-size levels of photo and mask until the photo is under about 1 MP (thread work)."""
    levels = []
    cur = rgb
    f = 1
    empty = not mask.any()
    while cur.shape[0] * cur.shape[1] > 1_200_000 and len(levels) < MAX_LEVELS:
        cur = downsample_rgb(cur)
        f *= 2
        h, w = mask.shape
        levels.append(
            (cur, np.zeros((-(-h // f), -(-w // f)), np.uint8) if empty else block_max(mask, f))
        )
    return levels
