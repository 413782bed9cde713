from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inpaint_studio.core.errors import MaskError
from inpaint_studio.core.pipeline.composite import apply_layer, build_layer, feather_alpha
from inpaint_studio.core.pipeline.context import extract, plan_region
from inpaint_studio.core.pipeline.request import ContextMode
from inpaint_studio.core.pixels.imaging import load_image

from .conftest import ellipse_mask


def big_photo(data_dir) -> np.ndarray:
    """A 4.8 MP photo built from a real one (resized ladybird-class size)."""
    img = (
        Image.open(data_dir / "rocket.jpg")
        .convert("RGB")
        .resize((2688, 1792), Image.Resampling.BICUBIC)
    )
    return np.asarray(img)


def test_region_rules(data_dir):
    rgb = big_photo(data_dir)
    h, w = rgb.shape[:2]
    small_mask = ellipse_mask(h, w, 900, 1300, 60, 80)
    auto = plan_region(small_mask, ContextMode.AUTO)
    assert auto.mode is ContextMode.CROP
    assert auto.width >= 1024 and auto.height >= 1024
    assert auto.x0 <= 1300 - 80 and auto.x1 >= 1300 + 80
    assert 0.9 < auto.send_width * auto.send_height / 1024**2 < 1.1
    full = plan_region(small_mask, ContextMode.FULL)
    assert (full.width, full.height, full.scale) == (w, h, 1.0)
    big_mask = ellipse_mask(h, w, 900, 1300, 800, 1200)
    assert plan_region(big_mask, ContextMode.AUTO).mode is ContextMode.FULL
    # a small photo is sent whole under auto
    tiny = ellipse_mask(300, 451, 150, 200, 20, 20)
    assert plan_region(tiny, ContextMode.AUTO).mode is ContextMode.FULL
    # crop on a small photo: the whole photo, upscaled toward 1 MP
    crop = plan_region(tiny, ContextMode.CROP)
    assert (crop.width, crop.height) == (451, 300) and crop.scale > 2.0
    with pytest.raises(MaskError):
        plan_region(np.zeros((10, 10), bool))


def test_extract_keeps_mask_binary(data_dir):
    rgb = load_image(data_dir / "chelsea.png").rgb
    mask = ellipse_mask(300, 451, 150, 200, 30, 50)
    region = plan_region(mask, ContextMode.CROP)
    img, m = extract(rgb, mask, region)
    assert img.shape == (region.send_height, region.send_width, 3)
    assert m.dtype == bool and m.shape == img.shape[:2]
    assert abs(m.mean() - mask.mean()) < 0.01


def simulated_result(
    region_img: np.ndarray, region_mask: np.ndarray, size=(1216, 832), drift=(0, 0, 0)
):
    """What a provider returns: the sent region at its own resolution, mask area repainted."""
    out = np.asarray(Image.fromarray(region_img).resize(size, Image.Resampling.BICUBIC)).astype(
        np.int16
    )
    m = np.asarray(Image.fromarray(region_mask).resize(size, Image.Resampling.NEAREST))
    out[m] = (30, 160, 60)
    return np.clip(out + np.array(drift), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("name", ["chelsea.png", "coffee.png", "rocket.jpg"])
@pytest.mark.parametrize("feather", [0, 4, 12])
def test_outside_mask_bit_identical(data_dir, name, feather):
    rgb = load_image(data_dir / name).rgb
    h, w = rgb.shape[:2]
    mask = ellipse_mask(h, w, h * 0.5, w * 0.45, h * 0.2, w * 0.15)
    region = plan_region(mask, ContextMode.FULL)
    img, m = extract(rgb, mask, region)
    layer = build_layer(
        rgb, mask, region, simulated_result(img, m, drift=(6, -4, 3)), feather=feather
    )
    out = apply_layer(rgb, layer)
    assert np.array_equal(out[~mask], rgb[~mask])
    # deep inside the mask the new content is there
    cy, cx = int(h * 0.5), int(w * 0.45)
    assert np.abs(out[cy, cx].astype(int) - (30, 160, 60)).max() <= 3
    # the layer holds only the mask's bounding box
    ys, xs = np.nonzero(mask)
    assert layer.box == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def test_feather_band_inside_mask(data_dir):
    mask = ellipse_mask(200, 200, 100, 100, 60, 60)
    a0 = feather_alpha(mask, 0, (False,) * 4)
    assert set(np.unique(a0)) == {0, 255}
    a8 = feather_alpha(mask, 8, (False,) * 4)
    assert (a8[~mask] == 0).all()
    assert a8[100, 100] == 255
    edge = a8[100, 40:52]  # from the left edge inward
    assert (np.diff(edge.astype(int)) >= 0).all() and edge[0] < 64 and edge[-1] == 255
    # the photo's border is not a seam
    border_mask = np.zeros((50, 50), bool)
    border_mask[:, :20] = True
    a = feather_alpha(border_mask, 6, (True, True, False, True))
    assert a[25, 0] == 255 and a[25, 19] < 128


@pytest.mark.parametrize("mode", ["inward", "centred", "outward"])
def test_feather_band_inward_centred_or_outward(data_dir, mode):
    """Where the 12 px band lies on the painted edge: the alpha at the edge itself is ~0,
    ~half or full, and only an outward or centred band reaches past it."""
    photo = load_image(data_dir / "coffee.png")
    mask = ellipse_mask(400, 600, 200, 300, 80, 80)
    region = plan_region(mask, ContextMode.FULL)
    red = np.zeros((400, 600, 3), np.uint8)
    red[..., 0] = 255
    layer = build_layer(
        photo.rgb, mask, region, red, feather=12, colour_match=False, grain=False, feather_mode=mode
    )
    alpha = np.zeros((400, 600), np.uint8)
    x0, y0, x1, y1 = layer.box
    alpha[y0:y1, x0:x1] = layer.alpha
    inside_edge, outside = alpha[200, 221], alpha[200, 214]  # the edge is at x = 220
    centre = alpha[200, 300]
    assert centre == 255
    if mode == "inward":
        assert inside_edge < 40 and (alpha[~mask] == 0).all()
    elif mode == "centred":
        assert 60 < inside_edge < 200 and 0 < outside < inside_edge
        assert alpha[200, 205] == 0  # the band reaches about 6 px out, no further
    else:
        assert inside_edge == 255 and outside > 0 and alpha[200, 205] < outside
    out = apply_layer(photo.rgb, layer)
    assert np.array_equal(out[alpha == 0], photo.rgb[alpha == 0])


def test_crop_composite_on_large_photo(data_dir):
    rgb = big_photo(data_dir)
    h, w = rgb.shape[:2]
    mask = ellipse_mask(h, w, 700, 900, 150, 200)
    region = plan_region(mask, ContextMode.AUTO)
    assert region.mode is ContextMode.CROP
    img, m = extract(rgb, mask, region)
    layer = build_layer(rgb, mask, region, simulated_result(img, m, size=(1024, 1024)))
    assert layer.alpha.shape == (301, 401)
    assert layer.nbytes == 301 * 401 * 4  # 4 bytes a pixel of the box, not of the photo
    out = apply_layer(rgb, layer)
    assert np.array_equal(out[~mask], rgb[~mask])
    assert np.abs(out[700, 900].astype(int) - (30, 160, 60)).max() <= 3


def test_colour_match_removes_drift(data_dir):
    """A provider that shifts colours globally leaves a visible seam unless matched."""
    rgb = load_image(data_dir / "coffee.png").rgb
    h, w = rgb.shape[:2]
    mask = ellipse_mask(h, w, 200, 300, 60, 80)
    region = plan_region(mask, ContextMode.FULL)
    img, m = extract(rgb, mask, region)
    # the "result" keeps the photo inside the mask too, only drifted: a perfect fill
    drift = np.array([18, -12, 10])
    res = np.clip(
        np.asarray(Image.fromarray(img).resize((1152, 768))).astype(int) + drift, 0, 255
    ).astype(np.uint8)
    inside = mask & ~(feather_alpha(mask, 4, (False,) * 4) < 255)
    plain = apply_layer(rgb, build_layer(rgb, mask, region, res, colour_match=False))
    matched = apply_layer(rgb, build_layer(rgb, mask, region, res, colour_match=True))
    err_plain = np.abs(plain[inside].astype(int) - rgb[inside]).mean()
    err_matched = np.abs(matched[inside].astype(int) - rgb[inside]).mean()
    assert err_plain > 10
    assert err_matched < err_plain / 3
