"""The offline engine: content removal with no key and no network.

It ignores the prompt (there is no generative model) and says so in the job's notes. Two
fills, chosen by the hole's size (``method`` overrides):

- ``telea``: OpenCV's Telea fast-marching inpainting at full resolution, for small
  blemishes (the hole's widest point ≤ :data:`TELEA_MAX_RADIUS` px from its edge);
- ``patchmatch``: PatchMatch texture synthesis (PyPatchMatch, MIT, the fill InvokeAI uses
  for infill) on the region around the mask, scaled down to about
  :data:`PATCHMATCH_PIXELS` and brought back by the compositor.

Seeds are honoured by PatchMatch (its random search starts from the seed), so variants
with seeds s, s+1, … differ.
"""

from __future__ import annotations

import asyncio
import math

import cv2
import numpy as np

from ..core.errors import MaskError, ProviderError
from ..core.pipeline.protocol import (
    Prepared,
    ProviderBase,
    ProviderDescription,
    ProviderOption,
    Quote,
    RawVariant,
    Reporter,
    Stage,
)
from ..core.pipeline.request import Capabilities, EditRequest, RenderingSpeed, random_seed

TELEA_MAX_RADIUS = 6.0  # px
PATCHMATCH_PIXELS = 400_000
PATCH_SIZE = 3  # radius: 7×7 patches, InvokeAI's choice
METHODS = ("auto", "telea", "patchmatch")


def choose_method(mask: np.ndarray) -> str:
    """``"telea"`` for thin or tiny holes, else ``"patchmatch"`` (``mask`` ``(H, W) bool``)."""
    if mask.sum() <= 400:
        return "telea"
    dist = cv2.distanceTransform(np.pad(mask, 1).view(np.uint8), cv2.DIST_L2, 3)
    return "telea" if float(dist.max()) <= TELEA_MAX_RADIUS else "patchmatch"


def fill(image: np.ndarray, mask: np.ndarray, *, method: str = "auto", seed: int = 0) -> np.ndarray:
    """Fill ``mask`` in ``image``.

    Args:
        image: ``(H, W, 3) uint8`` RGB.
        mask: ``(H, W) bool``, True = fill.
        method: ``auto``, ``telea`` or ``patchmatch``.
        seed: PatchMatch's random seed.

    Returns:
        ``(h, w, 3) uint8``: the filled image, at full size for Telea, scaled down to about
        :data:`PATCHMATCH_PIXELS` for PatchMatch (the compositor scales it back).

    Raises:
        ProviderError: PatchMatch's native library is missing.
    """
    if method == "auto":
        method = choose_method(mask)
    m8 = mask.astype(np.uint8) * 255
    if method == "telea":
        return cv2.inpaint(image, m8, 5, cv2.INPAINT_TELEA)
    import patchmatch

    if not patchmatch.patchmatch_available:
        raise ProviderError(
            "The offline PatchMatch engine is not available on this system; try --method telea."
        )
    h, w = mask.shape
    scale = min(1.0, math.sqrt(PATCHMATCH_PIXELS / (h * w)))
    if scale < 1.0:
        size = (max(8, round(w * scale)), max(8, round(h * scale)))
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        # any pixel touched by the hole is a hole at the small scale, so nothing of the
        # removed object survives the downscale
        small_mask = cv2.resize(m8, size, interpolation=cv2.INTER_AREA) > 0
    else:
        small, small_mask = image, mask
    patchmatch.set_random_seed(seed)
    return patchmatch.inpaint(small, small_mask.astype(np.uint8), patch_size=PATCH_SIZE)


class LocalProvider(ProviderBase):
    """Offline inpainting (Telea / PatchMatch); no key, no network."""

    name = "local"
    label = "Offline engine"
    mask_edit_is_black = True
    capabilities = Capabilities(
        speeds=frozenset({RenderingSpeed.DEFAULT}),
        max_images=8,
        prompt_required=False,
        needs_key=False,
        uploads=False,
        answer_sizes=(),  # works at the photo's own resolution
        max_inflight_images=None,
    )

    async def quote(self, request: EditRequest, prepared: Prepared | None) -> Quote:
        """Free: it runs on this computer."""
        return Quote(0.0, True, f"{request.num_images} × offline", "runs on this computer")

    description = ProviderDescription(
        name=name,
        label=label,
        capabilities=capabilities,
        options=(
            ProviderOption(
                "method",
                "Fill",
                "--method",
                tuple((m, m) for m in METHODS),
                "auto",
                help="offline engine: auto, telea or patchmatch",
                gui=False,
            ),
        ),
    )

    def __init__(self, method: str = "auto") -> None:
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}")
        self.method = method

    async def generate(
        self, request: EditRequest, prepared: Prepared, report: Reporter
    ) -> list[RawVariant]:
        if request.mask.all():
            raise MaskError(
                "The mask covers the whole photo: the offline engine fills a hole from the pixels "
                "around it, so leave part of the photo unmasked."
            )
        base_seed = request.seed if request.seed is not None else random_seed()
        method = self.method if self.method != "auto" else choose_method(prepared.mask)
        out = []
        for i in range(request.num_images):
            report(Stage.WAITING, i, request.num_images)
            seed = (base_seed + i) % 2_147_483_648
            pixels = await asyncio.to_thread(
                fill, prepared.image, prepared.mask, method=method, seed=seed
            )
            out.append(
                RawVariant(
                    pixels=pixels,
                    seed=seed,
                    resolution=f"{pixels.shape[1]}x{pixels.shape[0]}",
                    extra={"method": method},
                )
            )
        report(Stage.WAITING, request.num_images, request.num_images)
        return out

    def notes(self, request: EditRequest) -> list[str]:
        """What the user should know about this job."""
        if request.prompt.strip():
            return ["The offline engine removes content and ignores the prompt."]
        return []
