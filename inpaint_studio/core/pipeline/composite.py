"""Compositing a provider's result back into the original photo.

A result covers the :class:`~inpaint_studio.core.pipeline.context.Region` that was sent, at the
provider's own resolution (Ideogram snaps to sizes near 1 MP and may shift the aspect
ratio; shared/docs/providers.md). It is mapped back onto that region and blended into the
photo only inside the mask:

- pixels outside the mask are **bit-identical** to the original (alpha is exactly 0 there);
- inside, alpha rises from the mask's edge to 1 over ``feather`` px (smoothstep), so the
  seam is a soft band that lies entirely inside the painted area; ``feather = 0`` is a hard
  edge;
- optional colour match: the mean colour difference between the result and the original in
  a ring just outside the mask (where the model should have changed nothing) is removed
  from the result, correcting a global colour drift of the model or its encoder.

The work is confined to the mask's bounding box (plus the colour-match ring), so its cost
grows with the box, not with the photo; a :class:`Layer` holds only that box.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import MaskError
from ..pixels.imaging import mask_bbox
from .context import Region

#: Width in px of the ring outside the mask used for colour matching (at least).
RING_WIDTH = 8
#: Largest colour shift colour match applies, per channel, in 8-bit levels.
MAX_COLOUR_SHIFT = 48.0


@dataclass(eq=False)
class Layer:
    """A variant as a layer: only the mask's bounding box of the composite.

    Attributes:
        x0, y0: top-left corner in photo pixels.
        rgb: ``(h, w, 3) uint8`` result pixels over the box (colour matched).
        alpha: ``(h, w) uint8`` coverage, 0 outside the mask, 255 inside past the feather.
        rgba: the ``(h, w, 4)`` buffer ``rgb`` and ``alpha`` view, when they share one.
    """

    x0: int
    y0: int
    rgb: np.ndarray
    alpha: np.ndarray
    rgba: np.ndarray | None = None

    @classmethod
    def from_rgba(cls, x0: int, y0: int, rgba: np.ndarray) -> Layer:
        """A layer over one ``(h, w, 4) uint8`` straight-alpha buffer (``rgb``/``alpha`` are views),
        so a display can show it without a copy."""
        return cls(x0, y0, rgba[..., :3], rgba[..., 3], rgba)

    @property
    def box(self) -> tuple[int, int, int, int]:
        h, w = self.alpha.shape
        return self.x0, self.y0, self.x0 + w, self.y0 + h

    @property
    def nbytes(self) -> int:
        return self.rgba.nbytes if self.rgba is not None else self.rgb.nbytes + self.alpha.nbytes


def _map_result(result: np.ndarray, region: Region, box: tuple[int, int, int, int]) -> np.ndarray:
    """Resample the part of ``result`` that covers ``box`` (photo pixels) at photo scale."""
    ph, pw = result.shape[:2]
    if pw > region.width * 1.25 or ph > region.height * 1.25:
        # downscaling: area filter over the (small) region avoids aliasing
        result = cv2.resize(result, (region.width, region.height), interpolation=cv2.INTER_AREA)
        ph, pw = result.shape[:2]
    sx, sy = pw / region.width, ph / region.height
    x0, y0, x1, y1 = box
    m = np.array(
        [[sx, 0, sx * (x0 - region.x0 + 0.5) - 0.5], [0, sy, sy * (y0 - region.y0 + 0.5) - 0.5]],
        dtype=np.float64,
    )
    return cv2.warpAffine(
        result,
        m,
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


#: A result upscaled by more than this to fit its region gets the photo's grain (``auto``).
GRAIN_UPSCALE = 1.25
#: Width of the ring outside the mask where the photo's grain is measured, px.
GRAIN_RING = 16


#: Standard deviation that white noise keeps through the high-pass of :func:`noise_level`
#: (the image minus its 3×3 Gaussian blur, kernel [¼ ½ ¼]²): √(1 − 2·¼ + (⅜)²).
HIGH_PASS_GAIN = float(np.sqrt(1 - 0.5 + 0.375**2))


def noise_level(rgb: np.ndarray, where: np.ndarray, sample: int = 200_000) -> np.ndarray:
    """``(3,)`` per-channel high-frequency level of ``rgb`` at the ``where`` pixels: a robust
    standard deviation (1.4826 × median absolute value) of the image minus its 3×3 Gaussian
    blur, in levels, from at most ``sample`` evenly spaced pixels. Zeros when fewer than 64
    pixels are given."""
    ys, xs = np.nonzero(where)
    if len(ys) < 64:
        return np.zeros(3)
    step = max(1, len(ys) // sample)
    ys, xs = ys[::step], xs[::step]
    f = rgb.astype(np.float32)
    hp = f - cv2.GaussianBlur(f, (3, 3), 0)
    return 1.4826 * np.median(np.abs(hp[ys, xs]), axis=0)


def match_grain(
    mapped: np.ndarray, original: np.ndarray, mask: np.ndarray, seed: int = 0
) -> np.ndarray:
    """Add grain to ``mapped`` (the result over a working box, ``(h, w, 3) uint8``) so its
    high-frequency level inside ``mask`` matches the photo's in a :data:`GRAIN_RING` px ring
    outside it. A result upscaled 1.5–4× to fit a large photo is smoother than the photo
    around it and the patch shows; this hides it. Gaussian grain per channel, only as much as
    is missing (levels add in quadrature), the same for a given ``seed`` (re-blends repeat).

    Args:
        mapped, original: ``(h, w, 3) uint8`` over the same box.
        mask: ``(h, w) bool`` edit area in the box.
    """
    outside = cv2.distanceTransform((~mask).view(np.uint8), cv2.DIST_L2, 3)
    ring = (~mask) & (outside <= GRAIN_RING)
    target = noise_level(original, ring)
    have = noise_level(mapped, mask)
    missing = np.sqrt(np.maximum(0.0, target**2 - have**2))
    if not missing.any():
        return mapped
    rng = np.random.default_rng(seed)
    ys, xs = np.nonzero(mask)
    noise = rng.standard_normal((len(ys), 3), dtype=np.float32) * (missing / HIGH_PASS_GAIN).astype(
        np.float32
    )
    out = mapped.copy()
    out[ys, xs] = np.clip(mapped[ys, xs] + noise + 0.5, 0, 255).astype(np.uint8)
    return out


def feather_alpha(
    mask: np.ndarray, feather: int, border: tuple[bool, bool, bool, bool]
) -> np.ndarray:
    """Alpha ``(h, w) uint8`` for a mask crop: 0 outside, smoothstep up to 255 over ``feather`` px.

    Args:
        mask: ``(h, w) bool`` crop.
        feather: band width in px; 0 = hard edge.
        border: whether the crop's (left, top, right, bottom) side is the photo's edge, which
            is not a seam and so does not start a feather.
    """
    if feather <= 0:
        return mask.astype(np.uint8) * 255
    left, top, right, bottom = border
    padded = cv2.copyMakeBorder(mask.view(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    if left:
        padded[:, 0] = padded[:, 1]
    if right:
        padded[:, -1] = padded[:, -2]
    if top:
        padded[0, :] = padded[1, :]
    if bottom:
        padded[-1, :] = padded[-2, :]
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    t = np.clip(dist / (feather + 1), 0.0, 1.0)
    a = t * t * (3 - 2 * t)
    return np.rint(a * 255).astype(np.uint8)


def grown(
    mask: np.ndarray, strength: np.ndarray | None, px: int, region: Region
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(H, W) bool`` ``mask`` grown by ``px`` (a disc), only inside ``region``; a soft
    ``strength`` grown with it (grey dilation), so the band outside keeps full strength."""
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    y0, y1 = max(0, region.y0), region.y1
    x0, x1 = max(0, region.x0), region.x1
    out = mask.copy()
    out[y0:y1, x0:x1] = cv2.dilate(mask[y0:y1, x0:x1].view(np.uint8), k).astype(bool)
    if strength is not None:
        strength = strength.copy()
        strength[y0:y1, x0:x1] = cv2.dilate(strength[y0:y1, x0:x1], k)
    return out, strength


def build_layer(
    original: np.ndarray,
    mask: np.ndarray,
    region: Region,
    result: np.ndarray,
    *,
    feather: int = 4,
    colour_match: bool = True,
    strength: np.ndarray | None = None,
    grain: bool = True,
    feather_mode: str = "inward",
) -> Layer:
    """Map ``result`` back onto ``region`` and make the layer for ``mask``.

    Args:
        original: ``(H, W, 3) uint8`` photo.
        mask: ``(H, W) bool`` edit mask (the full-resolution one the user painted).
        region: what was sent.
        result: ``(h, w, 3) uint8`` the provider's image of the region, any size.
        feather: soft band inside the mask edge, px.
        colour_match: remove the result's mean colour drift measured on the ring.
        strength: ``(H, W) uint8`` soft mask (a soft brush's strength), multiplied into the
            feathered alpha; ``None`` = full strength wherever ``mask`` is set.
        grain: when the result was upscaled by more than :data:`GRAIN_UPSCALE` to fit the
            region, add grain matching the photo's (:func:`match_grain`).
        feather_mode: ``inward`` (the band inside the painted edge), ``centred`` (half
            outside) or ``outward`` (all outside: the blend mask is the painted mask grown by
            ``feather`` px, within the region).

    Raises:
        MaskError: the mask is empty inside the region.
    """
    H, W = mask.shape
    grow = {"centred": (feather + 1) // 2, "outward": feather}.get(str(feather_mode), 0)
    if grow > 0:  # the blend mask grows past the painted edge, never past what was sent
        mask, strength = grown(mask, strength, grow, region)
    bbox = mask_bbox(mask[region.y0 : region.y1, region.x0 : region.x1])
    if bbox is None:
        raise MaskError("The mask is empty: paint the area to change first.")
    bx0, by0, bx1, by1 = (
        bbox[0] + region.x0,
        bbox[1] + region.y0,
        bbox[2] + region.x0,
        bbox[3] + region.y0,
    )
    upscale = max(region.width / result.shape[1], region.height / result.shape[0])
    grain = grain and upscale > GRAIN_UPSCALE
    colour_ring = max(RING_WIDTH, 2 * feather) if colour_match else 0
    ring = max(colour_ring, GRAIN_RING if grain else 0)
    # working box: bbox plus ring, inside the region
    wx0, wy0 = max(region.x0, bx0 - ring), max(region.y0, by0 - ring)
    wx1, wy1 = min(region.x1, bx1 + ring), min(region.y1, by1 + ring)
    mapped = _map_result(result, region, (wx0, wy0, wx1, wy1))
    m = mask[wy0:wy1, wx0:wx1]
    orig = original[wy0:wy1, wx0:wx1]
    if colour_match:
        outside = cv2.distanceTransform((~m).view(np.uint8), cv2.DIST_L2, 3)
        ring_px = (~m) & (outside <= colour_ring)
        if ring_px.sum() >= 16:
            diff = mapped[ring_px].astype(np.float32).mean(axis=0) - orig[ring_px].astype(
                np.float32
            ).mean(axis=0)
            diff = np.clip(diff, -MAX_COLOUR_SHIFT, MAX_COLOUR_SHIFT)
            if np.abs(diff).max() >= 0.5:
                mapped = np.clip(mapped.astype(np.float32) - diff, 0, 255).round().astype(np.uint8)
    if grain:
        mapped = match_grain(mapped, orig, m, seed=bx0 * 7919 + by0)
    # cut the working box down to the bbox
    cx0, cy0 = bx0 - wx0, by0 - wy0
    cx1, cy1 = cx0 + (bx1 - bx0), cy0 + (by1 - by0)
    # feather on a crop one ring wider than the bbox so neighbouring keep pixels are seen
    border = (bx0 == 0, by0 == 0, bx1 == W, by1 == H)
    ex0, ey0 = max(0, bx0 - 1), max(0, by0 - 1)
    ex1, ey1 = min(W, bx1 + 1), min(H, by1 + 1)
    alpha_ext = feather_alpha(mask[ey0:ey1, ex0:ex1], feather, border)
    alpha = alpha_ext[by0 - ey0 : by0 - ey0 + (by1 - by0), bx0 - ex0 : bx0 - ex0 + (bx1 - bx0)]
    if strength is not None:
        s = strength[by0:by1, bx0:bx1].astype(np.uint16)
        alpha = ((alpha.astype(np.uint16) * s + 127) // 255).astype(np.uint8)
    rgba = np.empty((by1 - by0, bx1 - bx0, 4), np.uint8)
    rgba[..., :3] = mapped[cy0:cy1, cx0:cx1]
    rgba[..., 3] = alpha
    rgba[alpha == 0, :3] = 0  # never shown: a project stores the layer ~8× smaller without it
    return Layer.from_rgba(bx0, by0, rgba)


def blend_into(base: np.ndarray, layer: Layer, opacity: float = 1.0) -> None:
    """Blend ``layer`` into ``base`` (``(H, W, 3) uint8``) in place.

    Integer arithmetic: where alpha is 0 the result equals ``base`` exactly.
    """
    x0, y0, x1, y1 = layer.box
    a = layer.alpha.astype(np.uint16)
    if opacity < 1.0:
        a = (a * max(0.0, opacity) + 0.5).astype(np.uint16)
    a = a[..., None]
    dst = base[y0:y1, x0:x1]
    dst[...] = (
        (layer.rgb.astype(np.uint16) * a + dst.astype(np.uint16) * (255 - a) + 127) // 255
    ).astype(np.uint8)


def apply_layer(original: np.ndarray, layer: Layer, opacity: float = 1.0) -> np.ndarray:
    """A copy of ``original`` with ``layer`` blended in: the full-resolution composite."""
    out = original.copy()
    blend_into(out, layer, opacity)
    return out
