from __future__ import annotations

import numpy as np

from inpaint_studio.core.maskedit import MaskPatch, fill_polygon, grow, stamp_segment


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
    from inpaint_studio.core.imaging import load_image
    from inpaint_studio.core.maskedit import magic_wand

    photo = load_image(data_dir / "coffee.png")
    assert not photo.rgb.flags.writeable  # photos are shared, never edited in place
    m = np.zeros(photo.rgb.shape[:2], bool)
    rect = magic_wand(photo.rgb, m, (5, 5), 24, True)
    assert rect is not None and m[5, 5] and 1000 < m.sum() < m.size / 2
