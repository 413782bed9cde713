from __future__ import annotations

import numpy as np

from inpaint_studio.core.pixels.maskedit import MaskPatch, fill_polygon, grow, stamp_segment


def test_mask_patch_is_bounded():
    m = np.zeros((4000, 6000), bool)
    before = m[100:300, 100:400].copy()
    m[150:250, 150:350] = True
    p = MaskPatch.capture(before, m[100:300, 100:400], (100, 100, 400, 300))
    assert p.nbytes == 2 * 200 * 300 // 8
    p.apply(m, undo=True)
    assert not m.any()


def test_stamp_segment_leaves_no_gaps():
    m = np.zeros((100, 300), bool)
    stamp_segment(m, (10.5, 50.5), (290.5, 50.5), 3, True)
    assert m[50, 10:291].all() and m[47:54, 150].all() and not m[45, 150]


def test_polygon_and_grow():
    m = np.zeros((100, 100), bool)
    rect = fill_polygon(m, [(10, 10), (30, 10), (30, 30), (10, 30)], True)
    assert rect == (10, 10, 31, 31) and m.sum() >= 400
    n = m.sum()
    grow(m, 3)
    assert m.sum() > n and m[20, 7]
    grow(m, -3)
    assert abs(int(m.sum()) - int(n)) <= 40


def test_magic_wand_on_a_read_only_photo(data_dir):
    from inpaint_studio.core.pixels.imaging import load_image
    from inpaint_studio.core.pixels.maskedit import magic_wand

    photo = load_image(data_dir / "coffee.png")
    assert not photo.rgb.flags.writeable  # photos are shared, never edited in place
    m = np.zeros(photo.rgb.shape[:2], bool)
    rect = magic_wand(photo.rgb, m, (5, 5), 24, True)
    assert rect is not None and m[5, 5] and 1000 < m.sum() < m.size / 2


# -- soft masks (brush hardness and opacity) ------------------------------------------------------


def test_soft_brush_profile_and_region():
    from inpaint_studio.core.pixels.maskedit import stamp_soft

    alpha = np.zeros((100, 100), np.uint8)
    mask = np.zeros((100, 100), bool)
    assert stamp_soft(alpha, mask, (50, 50), (50, 50), 20, 0.5, 0.8, True) is not None
    assert alpha[50, 50] == round(
        255 * 0.8
    )  # full strength inside hardness × radius, at the opacity
    assert alpha[50, 50 + 9] == alpha[50, 50]
    assert 0 < alpha[50, 50 + 15] < alpha[50, 50]  # fades between 10 and 20 px
    assert alpha[50, 50 + 21] == 0 and alpha[50, 50 - 21] == 0
    assert np.array_equal(mask, alpha > 0)  # the two-level region is exactly where it is > 0
    # a second pass of the same stroke never builds up past its opacity
    stamp_soft(alpha, mask, (50, 50), (50, 50), 20, 0.5, 0.8, True)
    assert alpha.max() == round(255 * 0.8)
    # a soft eraser lowers the strength, a full one clears it and the region
    stamp_soft(alpha, mask, (50, 50), (50, 50), 5, 1.0, 0.5, False)
    assert 0 < alpha[50, 50] < round(255 * 0.8) * 0.6
    stamp_soft(alpha, mask, (50, 50), (50, 50), 30, 1.0, 1.0, False)
    assert not alpha.any() and not mask.any()


def test_soft_patch_undo_redo_and_two_level_edits_keep_softness():
    from inpaint_studio.core.pixels.maskedit import MaskPatch, stamp_soft, sync_alpha

    alpha = np.zeros((60, 80), np.uint8)
    mask = np.zeros((60, 80), bool)
    rect = (0, 0, 80, 60)
    b_mask, b_alpha = mask.copy(), alpha.copy()
    stamp_soft(alpha, mask, (20, 20), (60, 30), 12, 0.3, 1.0, True)
    patch = MaskPatch.capture(b_mask, mask, rect, b_alpha, alpha)
    soft = alpha.copy()
    patch.apply(mask, undo=True, alpha=alpha)
    assert not mask.any() and not alpha.any()
    patch.apply(mask, undo=False, alpha=alpha)
    assert np.array_equal(alpha, soft) and np.array_equal(mask, soft > 0)
    # a two-level edit (rectangle) adds full strength and keeps the soft stroke's values
    mask[40:50, 5:15] = True
    sync_alpha(alpha, mask, rect)
    assert (alpha[40:50, 5:15] == 255).all() and np.array_equal(alpha[:35], soft[:35])


def test_build_layer_uses_strength_and_provider_mask_stays_two_level(data_dir):
    from inpaint_studio.core.pipeline.composite import build_layer
    from inpaint_studio.core.pipeline.context import plan_region
    from inpaint_studio.core.pixels.imaging import encode_mask, load_image
    from inpaint_studio.core.pixels.maskedit import stamp_soft

    photo = load_image(data_dir / "coffee.png")
    H, W = photo.rgb.shape[:2]
    alpha = np.zeros((H, W), np.uint8)
    mask = np.zeros((H, W), bool)
    stamp_soft(alpha, mask, (300, 200), (300, 200), 60, 0.5, 0.6, True)
    region = plan_region(mask)
    result = np.full((region.y1 - region.y0, region.x1 - region.x0, 3), 255, np.uint8)
    hard = build_layer(photo.rgb, mask, region, result, feather=0, colour_match=False)
    soft = build_layer(
        photo.rgb, mask, region, result, feather=0, colour_match=False, strength=alpha
    )
    x0, y0, _, _ = soft.box
    assert hard.alpha[200 - y0, 300 - x0] == 255
    assert abs(int(soft.alpha[200 - y0, 300 - x0]) - round(255 * 0.6)) <= 1
    edge = soft.alpha[200 - y0, 300 - x0 + 50]
    assert 0 < edge < soft.alpha[200 - y0, 300 - x0]  # fades towards the brush's edge
    import io

    from PIL import Image

    sent = np.asarray(Image.open(io.BytesIO(encode_mask(mask, edit_is_black=True))).convert("L"))
    assert set(np.unique(sent)) == {0, 255}  # providers get a strictly two-level mask
