"""Encoding what is uploaded to a model: the region as PNG, lossless WebP or JPEG within
the provider's byte limit, and the two-level mask."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

#: Upload limit per file, in bytes: "at most 10 MB" (shared/docs/providers.md), read as
#: decimal megabytes so no provider reading of "MB" can refuse it.
UPLOAD_LIMIT = 10_000_000
#: JPEG quality of uploads to a model when lossless does not fit the budget (see encode_for_upload).
UPLOAD_QUALITY = 98
#: A lossless upload to a model is preferred up to this many bytes (issue 13: ≤ 1.5 MB).
LOSSLESS_BUDGET = 1_500_000
#: File types every provider accepts.
UPLOAD_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class EncodedImage:
    """An encoded file ready to upload.

    Attributes:
        data: the file's bytes.
        format: ``"PNG"``, ``"JPEG"`` or ``"WEBP"``.
        width, height: pixels of the encoded image.
        scale: encoded size ÷ the size it was made from (1.0 = not downscaled).
        quality: JPEG quality, or ``None`` for lossless.
    """

    data: bytes = field(repr=False)
    format: str
    width: int
    height: int
    scale: float = 1.0
    quality: int | None = None

    @property
    def mime(self) -> str:
        return UPLOAD_FORMATS[self.format]

    @property
    def extension(self) -> str:
        return {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[self.format]

    def describe(self) -> dict:
        """What was sent, for results and sidecars: size, scale, format, bytes."""
        return {
            "width": self.width,
            "height": self.height,
            "scale": round(self.scale, 4),
            "format": self.format,
            "quality": self.quality,
            "bytes": len(self.data),
        }


def _png(img: Image.Image, level: int = 3) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=level)
    return buf.getvalue()


def _jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, subsampling=0 if quality >= 90 else 2, optimize=False)
    return buf.getvalue()


def encode_for_upload(
    rgb: np.ndarray, max_bytes: int = UPLOAD_LIMIT, *, prefer_lossy: bool = False
) -> EncodedImage:
    """Encode ``rgb`` so the file stays under ``max_bytes``.

    Order (issue #2): lossless PNG when it fits, else JPEG at quality 95 then 90, else
    downscaled (area filter) until a quality-90 JPEG fits. PNG is not attempted when the raw
    pixels are over 3× the limit, since photographs do not compress that well losslessly.

    With ``prefer_lossy`` (uploads to a model, issue 13) the file stays small without losing
    what the model could use: PNG when it is at most :data:`LOSSLESS_BUDGET` (flat images),
    else lossless WebP when that is (every provider takes WebP; a photo's is ~35 % smaller
    than its PNG: 1.47 MB for the benchmark's 1 MP region, exact pixels), else a
    quality-:data:`UPLOAD_QUALITY` JPEG without chroma subsampling (0.07 levels of drift-free
    round-trip error at 1.05 MB there; q95: 0.23 levels at 0.76 MB).

    Args:
        rgb: ``(H, W, 3) uint8``.
        max_bytes: upload limit in bytes (providers: 10 MB).
        prefer_lossy: JPEG q95 unless PNG costs about the same.

    Returns:
        An :class:`EncodedImage`; ``scale`` < 1 when it had to be downscaled.
    """
    h, w = rgb.shape[:2]
    img = Image.fromarray(rgb, "RGB")
    raw = w * h * 3
    if prefer_lossy:
        budget = min(LOSSLESS_BUDGET, max_bytes)
        png = _png(img, level=3) if raw <= 4 * budget else None
        if png is not None and len(png) <= budget:
            return EncodedImage(png, "PNG", w, h)
        if raw <= 8 * budget:
            buf = io.BytesIO()
            img.save(buf, "WEBP", lossless=True, quality=100, method=4)
            if len(buf.getvalue()) <= budget:
                return EncodedImage(buf.getvalue(), "WEBP", w, h)
        jpeg = _jpeg(img, UPLOAD_QUALITY)
        if len(jpeg) <= max_bytes:
            return EncodedImage(jpeg, "JPEG", w, h, quality=UPLOAD_QUALITY)
    if raw <= 3 * max_bytes:
        data = _png(img, level=3 if raw <= max_bytes else 6)
        if len(data) <= max_bytes:
            return EncodedImage(data, "PNG", w, h)
    for q in (95, 90):
        data = _jpeg(img, q)
        if len(data) <= max_bytes:
            return EncodedImage(data, "JPEG", w, h, quality=q)
    scale = 1.0
    size = len(data)
    while True:
        scale *= math.sqrt(max_bytes / size) * 0.92
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        small = img.resize(
            (sw, sh), Image.Resampling.BOX if scale < 0.5 else Image.Resampling.LANCZOS
        )
        data = _jpeg(small, 90)
        size = len(data)
        if size <= max_bytes:
            return EncodedImage(data, "JPEG", sw, sh, scale=sw / w, quality=90)


def encode_mask(mask: np.ndarray, *, edit_is_black: bool = True) -> bytes:
    """Encode an ``(H, W) bool`` mask as a strictly two-level 1-bit PNG.

    Args:
        mask: ``True`` = edit.
        edit_is_black: the provider's polarity; Ideogram 3.0/2.0, Magnific and 1min.ai all
            take black = edit (shared/docs/providers.md, "Common to all").
    """
    values = ~mask if edit_is_black else mask
    # rows of packed bits, most significant first: exactly Pillow's raw "1" layout (1 = white)
    img = Image.frombytes(
        "1", (values.shape[1], values.shape[0]), np.packbits(values, axis=1).tobytes()
    )
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()
