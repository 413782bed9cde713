"""Grain matching (issue 13): a smooth result upscaled to fit its region gets the photo's
grain, measured in a ring outside the mask, with no seam; off when asked or not upscaled."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inpaint_studio.core.pipeline.composite import blend_into, build_layer, noise_level
from inpaint_studio.core.pipeline.context import plan_region
from inpaint_studio.core.pixels.imaging import load_image

from .conftest import ellipse_mask


@pytest.fixture(scope="module")
def grainy(data_dir_module):
    """The astronaut photo at 2560² with σ = 5 levels of sensor-like noise, a mask, and a
    smooth fill at about 1 MP (the clean photo downscaled): it is upscaled ~1.6× to fit."""
    base = cv2.resize(
        load_image(data_dir_module / "astronaut.png").rgb,
        (2560, 2560),
        interpolation=cv2.INTER_CUBIC,
    )
    noisy = np.clip(base + np.random.default_rng(1).normal(0, 5, base.shape), 0, 255).astype(
        np.uint8
    )
    mask = ellipse_mask(2560, 2560, 1280, 1280, 380, 520)
    region = plan_region(mask)
    fill = cv2.resize(
        base[region.y0 : region.y1, region.x0 : region.x1],
        (1024, 1024),
        interpolation=cv2.INTER_AREA,
    )
    return noisy, mask, region, fill


@pytest.fixture(scope="module")
def data_dir_module():
    from pathlib import Path

    return Path(__file__).parent / "data"


def measure(photo, mask, layer) -> tuple[float, float]:
    """(patch HF ÷ ring HF, gradient on the mask boundary ÷ gradient in the ring)."""
    out = photo.copy()
    blend_into(out, layer)
    inner = cv2.erode(mask.view(np.uint8), np.ones((15, 15), np.uint8)) > 0
    ring = (~mask) & (cv2.distanceTransform((~mask).view(np.uint8), cv2.DIST_L2, 3) <= 16)
    f = out.astype(np.float32)
    grad = np.sqrt(cv2.Sobel(f, cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(f, cv2.CV_32F, 0, 1) ** 2).mean(
        axis=2
    )
    edge = mask ^ (cv2.erode(mask.view(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    return noise_level(out, inner).mean() / noise_level(out, ring).mean(), grad[edge].mean() / grad[
        ring
    ].mean()


def test_upscaled_smooth_fill_gets_the_photos_grain_without_a_seam(grainy):
    photo, mask, region, fill = grainy
    assert region.width / fill.shape[1] > 1.25
    plain, seam_plain = measure(photo, mask, build_layer(photo, mask, region, fill, grain=False))
    matched, seam = measure(photo, mask, build_layer(photo, mask, region, fill, grain=True))
    assert plain < 0.3  # the patch shows: far smoother than the photo around it
    assert matched >= 0.6 and seam <= 1.5
    # the same grain every time (a re-blend repeats it)
    a = build_layer(photo, mask, region, fill, grain=True)
    b = build_layer(photo, mask, region, fill, grain=True)
    assert np.array_equal(a.rgb, b.rgb)


def test_no_grain_when_the_result_was_not_upscaled(grainy):
    photo, mask, region, fill = grainy
    full = cv2.resize(
        photo[region.y0 : region.y1, region.x0 : region.x1], (region.width, region.height)
    )
    assert np.array_equal(
        build_layer(photo, mask, region, full, grain=True).rgb,
        build_layer(photo, mask, region, full, grain=False).rgb,
    )


def test_grain_flag_on_the_command_line():
    from inpaint_studio.core.pipeline.params import params

    grain = next(p for p in params() if p.name == "grain")
    assert grain.cli == "--grain" and [c.value for c in grain.choices] == ["auto", "off"]
