"""Preparing a job's upload: which region is sent, at what size, encoded how (pixel work:
run it in a thread). The region rule is :mod:`~inpaint_studio.core.pipeline.context`'s; the
size follows the provider's capabilities (its answer sizes near 1 MP, or Precise Edit's
full resolution up to a pixel limit) and its upload limit."""

from __future__ import annotations

import math
from dataclasses import replace

from ..pixels.imaging import UPLOAD_LIMIT, encode_for_upload
from .context import Region, extract, plan_region, resize_mask
from .protocol import Prepared
from .request import IDEOGRAM_ANSWER_SIZES, ContextMode, EditRequest


def answer_size(width: int, height: int, sizes) -> tuple[int, int]:
    """The size in ``sizes`` whose aspect ratio is nearest ``width`` ÷ ``height``."""
    return min(sizes, key=lambda s: abs(math.log((s[0] / s[1]) / (width / height))))


def prepare(
    request: EditRequest,
    *,
    uploads: bool = True,
    answer_sizes: tuple[tuple[int, int], ...] = IDEOGRAM_ANSWER_SIZES,
    max_region_pixels: int | None = None,
    upload_limit: int = UPLOAD_LIMIT,
) -> Prepared:
    """Plan the region, cut and scale it, and encode it for upload (pixel work: run in a thread).

    Args:
        request: a validated request.
        uploads: encode files (network providers); offline engines get the region at photo scale.
        answer_sizes: the sizes the provider's model answers with
            (``Capabilities.answer_sizes``): a region larger than the one nearest its aspect
            ratio is sent at exactly that size (the model returns about 1 MP whatever it
            gets, and the result is brought back to the region at full resolution), so a 5 %
            mask on 18 MP uploads 1.03 MP instead of 2.9 MP.
        max_region_pixels: ``Capabilities.max_region_pixels``: the region is sent at the
            photo's own pixels up to this many (:func:`full_resolution`), so the answer lands
            1:1; ``answer_sizes`` is then ignored.
        upload_limit: bytes the encoded image may have (``Capabilities.upload_limit``).
    """
    context = request.context
    if uploads and max_region_pixels and context is ContextMode.AUTO:
        # the whole photo when the model takes it at its own pixels, else the edit's surroundings
        h, w = request.mask.shape
        context = ContextMode.FULL if w * h <= max_region_pixels else ContextMode.CROP
    region = plan_region(request.mask, context)
    if not uploads:
        region = replace(region, send_width=region.width, send_height=region.height)
    elif max_region_pixels:  # a model that edits at the photo's own pixels (Precise Edit)
        region = full_resolution(region, max_region_pixels)
    elif answer_sizes:
        aw, ah = answer_size(region.width, region.height, answer_sizes)
        if region.send_width * region.send_height > aw * ah:
            region = replace(region, send_width=aw, send_height=ah)
    image, mask = extract(request.photo.rgb, request.mask, region)
    if not uploads:
        return Prepared(region, image, mask)
    encoded = encode_for_upload(image, upload_limit, prefer_lossy=True)
    upload_mask = resize_mask(mask, (encoded.width, encoded.height))
    return Prepared(region, image, mask, encoded, upload_mask)


def full_resolution(region: Region, max_pixels: int) -> Region:
    """``region`` sent at scale 1 when it has at most ``max_pixels`` pixels, else scaled
    down to fit (never up: the model edits at the photo's own pixels)."""
    area = region.width * region.height
    scale = 1.0 if area <= max_pixels else math.sqrt(max_pixels / area)
    w, h = max(1, int(region.width * scale)), max(1, int(region.height * scale))
    while w * h > max_pixels:  # rounding never passes the limit
        w, h = w - 1, max(1, int(h * (w - 1) / w))
    return replace(region, send_width=w, send_height=h)


__all__ = ["answer_size", "full_resolution", "prepare"]
