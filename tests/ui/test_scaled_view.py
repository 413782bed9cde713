"""The zoomed-out view (``ui/scaled_view.py``): a mask edit redone in its rectangle gives the
same view as building it again; a one-pixel stroke stays visible zoomed far out; the canvas
drawn through it looks like the canvas drawn from the pyramid directly; it is made in a
worker thread, and what changes meanwhile (a stroke, the overlay's colour, the photo) is in
the view it lands as, or the view is dropped."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from PySide6.QtGui import QImage, qRgba

from inpaint_studio.ui.pyramid import block_max
from inpaint_studio.ui.scaled_view import ScaledView, premultiplied

from ..support.waiting import until
from .test_mask_view import stroke
from .test_window import opened

DATA = __import__("pathlib").Path(__file__).resolve().parent.parent / "data"
PHOTO = np.asarray(Image.open(DATA / "coffee.png").convert("RGB"))  # (400, 600, 3)
H, W = PHOTO.shape[:2]
LUT = premultiplied([0] + [qRgba(255, 60, 60, 140)] * 255)


def level_of(mask: np.ndarray, f: int) -> np.ndarray:
    """``(ceil(H/f), ceil(W/f)) uint8``: the overlay level the canvas keeps (0 or 255)."""
    m = mask.view(np.uint8) * np.uint8(255)
    return m if f == 1 else block_max(m, f)


def build(mask: np.ndarray, f: int, size: tuple[int, int]) -> ScaledView:
    photo = PHOTO if f == 1 else np.ascontiguousarray(PHOTO[::f, ::f])
    return ScaledView(photo, level_of(mask, f), (W, H), f, size, LUT)


edits = st.lists(
    st.tuples(
        st.integers(0, W - 1),
        st.integers(0, H - 1),
        st.integers(1, 120),
        st.integers(1, 120),
        st.booleans(),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=edits, scale=st.floats(0.07, 0.98))
def test_an_edit_redone_in_its_rectangle_equals_a_rebuild(edits, scale):
    size = (max(1, round(W * scale)), max(1, round(H * scale)))
    f = 1  # the canvas's level: one to two of its pixels per device pixel
    while W / size[0] >= 2 * f:
        f *= 2
    mask = np.zeros((H, W), bool)
    view = build(mask, f, size)
    for x, y, w, h, on in edits:
        rect = (x, y, min(W, x + w), min(H, y + h))
        mask[rect[1] : rect[3], rect[0] : rect[2]] = on
        view.update_mask(level_of(mask, f), rect)
        fresh = build(mask, f, size)
        assert np.array_equal(view.idx, fresh.idx)
        assert np.array_equal(view._tint, fresh._tint)
        assert np.array_equal(view._edge, fresh._edge)
        ys, xs = np.nonzero(view.idx[1:-1, 1:-1])
        if len(ys):  # every shown pixel lies in the box the canvas draws
            bx0, by0, bx1, by1 = view.bbox
            assert bx0 <= xs.min() and xs.max() < bx1 and by0 <= ys.min() and ys.max() < by1


@settings(max_examples=80, deadline=None)
@given(
    h=st.integers(1, 70),
    w=st.integers(1, 70),
    k=st.integers(0, 4),
    seed=st.integers(0, 2**32 - 1),
    density=st.floats(0.0, 1.0),
)
def test_block_max_is_the_largest_value_of_each_block(h, w, k, seed, density):
    rng = np.random.default_rng(seed)
    mask = np.where(rng.random((h, w)) < density, rng.integers(1, 256, (h, w)), 0).astype(np.uint8)
    f = 2**k
    expected = np.zeros((-(-h // f), -(-w // f)), np.uint8)
    for y in range(expected.shape[0]):
        for x in range(expected.shape[1]):
            expected[y, x] = mask[y * f : (y + 1) * f, x * f : (x + 1) * f].max()
    assert np.array_equal(block_max(mask, f), expected)
    assert np.array_equal(block_max(mask > 0, f), expected > 0)  # a bool mask: 0/1 bytes


def test_a_one_pixel_stroke_stays_visible_zoomed_far_out():
    mask = np.zeros((H, W), bool)
    mask[200, 50:550] = True  # one photo pixel high
    mask[20:380, 301] = True  # one photo pixel wide
    size = (round(W * 0.13), round(H * 0.13))  # 78 × 52: 7.7 photo px a device px
    view = build(mask, 4, size)
    shown = view.idx[1:-1, 1:-1] > 0
    row = round(200 * 0.13)
    assert shown[row - 1 : row + 1].any(axis=0)[8:70].all()  # the line is unbroken
    col = round(301 * 0.13)
    assert shown[:, col - 1 : col + 1].any(axis=1)[4:48].all()
    assert shown.sum() < 3 * (62 + 44)  # and thin: about one device pixel
    # a line one device pixel thin keeps the tint (a white outline would vanish on white)
    assert not view._edge.any() and (view._tint[shown] == LUT[255]).all()


def test_a_new_overlay_colour_recolours_the_kept_mask():
    mask = np.zeros((H, W), bool)
    mask[100:200, 100:300] = True
    view = build(mask, 1, (300, 200))
    edge = view._edge != 0  # the outline: the rectangle's border, one device pixel wide
    assert edge[50, 50:150].all() and edge[99, 50:150].all() and edge[50:100, 50].all()
    assert edge.sum() == 2 * 100 + 2 * 50 - 4 and not edge[51:99, 51:149].any()
    blue = premultiplied([0] + [qRgba(40, 80, 255, 120)] * 255)
    view.set_lut(blue)
    assert np.array_equal(view._tint, build_with(mask, blue)._tint)


def build_with(mask, lut) -> ScaledView:
    return ScaledView(PHOTO, level_of(mask, 1), (W, H), 1, (300, 200), lut)


def grab(canvas) -> np.ndarray:
    """``(h, w, 3) int`` the canvas as drawn."""
    img = canvas.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    rows = np.frombuffer(img.constBits(), np.uint8).reshape(h, bpl)
    return rows[:, : w * 3].reshape(h, w, 3).astype(int)


@pytest.mark.asyncio(loop_scope="session")
async def test_the_canvas_zoomed_out_looks_as_drawn_from_the_pyramid(window, monkeypatch):
    import inpaint_studio.ui.canvas_overlays as overlays

    await opened(window, DATA / "coffee.png")
    c = window.canvas
    mask = np.zeros((H, W), bool)
    mask[120:260, 200:420] = True
    mask[300, 40:560] = True  # a one-pixel line
    await window.session.replace_mask(mask, "Test mask")
    c.set_zoom(0.37, centre=True)
    c.repaint()
    await until(lambda: c._view is not None)  # zoomed out, the canvas draws through the view
    through_view = grab(c)
    window.overlay_action.setChecked(False)
    window.toggle_overlay()
    bare = grab(c)
    window.overlay_action.setChecked(True)
    window.toggle_overlay()
    monkeypatch.setattr(overlays, "MAX_AREA_FACTOR", 0.0)  # now drawn from the pyramid
    c.repaint()
    assert c._view is None
    direct = grab(c)
    # photo and tint agree (an area average vs the pyramid's smooth scaling)
    for px, py in ((310, 190), (100, 80), (500, 370)):
        p = c.to_screen(px, py)
        x, y = round(p.x()), round(p.y())
        a, b = through_view[y - 5 : y + 6, x - 5 : x + 6], direct[y - 5 : y + 6, x - 5 : x + 6]
        assert np.abs(a.mean((0, 1)) - b.mean((0, 1))).max() < 8, (px, py)
    assert np.abs(through_view - direct).mean() < 4
    # the one-pixel line shows along its whole length
    y = round(c.to_screen(0, 300).y())
    x0, x1 = round(c.to_screen(50, 0).x()), round(c.to_screen(550, 0).x())
    changed = np.abs(through_view - bare)[y - 2 : y + 3, x0:x1].sum(axis=2).max(axis=0)
    assert (changed > 30).all(), np.nonzero(changed <= 30)


async def zoomed_out(window, zoom: float = 0.37):
    """The coffee photo open and zoomed out, its view being made (not yet there)."""
    await opened(window, DATA / "coffee.png")
    c = window.canvas
    await until(lambda: c._view_task is None)
    c.set_zoom(zoom, centre=True)
    c.repaint()
    assert c._view is None and c._view_task is not None, "made in a worker, not in the paint"
    return c


def fresh(c) -> ScaledView:
    """The view of the canvas's zoom made now from what it shows."""
    v = c._view
    photo = c.rgb if v.f == 1 else c._levels[v.f.bit_length() - 2][0]
    lut = premultiplied(c._colour_table())
    return ScaledView(photo, c._level_mask(v.f), c.image_size, v.f, v.size, lut)


@pytest.mark.asyncio(loop_scope="session")
async def test_a_stroke_painted_while_the_view_is_made_is_in_it(window):
    from PySide6.QtGui import QColor

    c = await zoomed_out(window)
    stroke(c, [(100, 70), (250, 90), (400, 70)])  # before or after the worker reads the mask
    c.brush_radius = 0.5
    stroke(c, [(20, 200), (580, 200)])  # a one-pixel line
    assert window.session.doc.mask[196:205, 300].any() and window.session.doc.mask[70, 250]
    c.set_overlay_color(QColor(40, 200, 90, 150))  # and a new overlay colour meanwhile
    await until(lambda: c._view is not None)
    expected = fresh(c)
    assert np.array_equal(c._view._tint, expected._tint)
    assert np.array_equal(c._view._edge, expected._edge)
    assert np.array_equal(c._view._photo, expected._photo)
    assert c._view.bbox is not None and c._view._tint.any()


@pytest.mark.asyncio(loop_scope="session")
async def test_a_view_made_for_a_photo_since_replaced_is_dropped(window):
    c = await zoomed_out(window)
    old = c.rgb
    c.set_rgb(255 - old, (0, 0, W, H))  # the working image changed before the view landed
    await until(lambda: c._view is not None)
    assert np.array_equal(c._view._photo, fresh(c)._photo)
    # the inverted photo, not the one the first view was started from
    x, y = W // 2, H // 2
    px = c._view._photo[round(y * c._view.size[1] / H), round(x * c._view.size[0] / W)]
    assert abs(int(px[2]) - (255 - int(old[y, x, 0]))) < 40


@pytest.mark.asyncio(loop_scope="session")
async def test_zooming_again_while_a_view_is_made_lands_the_last_zoom(window):
    c = await zoomed_out(window, 0.37)
    c.set_zoom(0.21, centre=True)
    c.repaint()  # one view at a time: the second waits for the first
    await until(lambda: c._view is not None and c._view.size[0] == round(W * 0.21))
    assert np.array_equal(c._view._tint, fresh(c)._tint)


@pytest.mark.asyncio(loop_scope="session")
async def test_undoing_expand_shows_the_photo_again_without_downsampling_it(window, tmp_path):
    from inpaint_studio.ui.pyramid import block_max

    big = tmp_path / "coffee-3x.png"  # 1800 × 1200: a photo with pyramid levels
    Image.fromarray(PHOTO).resize((3 * W, 3 * H), Image.Resampling.LANCZOS).save(big)
    await opened(window, big)
    c, s = window.canvas, window.session
    before = [lv[0] for lv in c._levels]
    assert before, "a photo over 1.2 MP is drawn zoomed out from its levels"
    await window.expand_canvas((0, 0, 300, 0))
    await until(lambda: s.doc.photo.size == (3 * W + 300, 3 * H) and not s.busy)
    expanded = [lv[0] for lv in c._levels]
    window.undo_stack.undo()
    await until(lambda: c.image_size == (3 * W, 3 * H))
    assert all(a is b for a, b in zip([lv[0] for lv in c._levels], before, strict=True))
    for f, (_, level_mask, _, _) in zip((2, 4), c._levels, strict=False):
        assert np.array_equal(level_mask, block_max(s.doc.mask.view(np.uint8), f))
    window.undo_stack.redo()
    await until(lambda: c.image_size == (3 * W + 300, 3 * H))
    assert all(a is b for a, b in zip([lv[0] for lv in c._levels], expanded, strict=True))
    assert c._levels[0][1].any(), "the new margin is the mask, in its levels too"
