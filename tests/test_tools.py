"""Issue 18: the mask tools are Qt-free classes driven in photo pixels; one table of
``ToolSpec`` s names them for the canvas, the Tools menu and the F1 sheet."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from inpaint_studio.core.pixels.maskedit import stamp_segment
from inpaint_studio.core.pixels.tools import (
    TOOLS,
    BrushOutline,
    Outline,
    make_tool,
    tool_specs,
)


@dataclass
class Target:
    """A document's mask as the tools see it, without widgets."""

    mask: np.ndarray
    alpha: np.ndarray | None = None
    brush_radius: float = 6.0
    brush_hardness: float = 1.0
    brush_opacity: float = 1.0

    def ensure_soft(self) -> np.ndarray:
        if self.alpha is None:
            self.alpha = self.mask.view(np.uint8) * np.uint8(255)
        return self.alpha


def target(h: int = 60, w: int = 80) -> Target:
    return Target(np.zeros((h, w), bool))


def test_the_table_names_every_tool_once_with_its_own_key():
    specs = tool_specs()
    assert [s.name for s in specs] == ["brush", "eraser", "rect", "lasso", "wand", "subject"]
    assert len({s.key for s in specs}) == len(specs) and all(len(s.key) == 1 for s in specs)
    assert all(s.help and "&" in s.label for s in specs)
    assert all(type(make_tool(s.name)) is t for s, t in zip(specs, TOOLS, strict=True))
    with pytest.raises(KeyError):
        make_tool("smudge")


def test_a_brush_stroke_paints_its_path_and_is_one_undoable_patch():
    t = target()
    brush = make_tool("brush")
    expected = np.zeros_like(t.mask)
    path = [(10.0, 10.0), (20.0, 12.0), (40.0, 30.0)]
    assert brush.press(t, *path[0], value=True).changed
    stamp_segment(expected, path[0], path[0], 6.0, True)
    for p0, p1 in zip(path, path[1:], strict=False):
        brush.move(t, *p1, held=True)
        stamp_segment(expected, p0, p1, 6.0, True)
    assert brush.busy and brush.release(t).patch is not None
    patch = brush.release(t).patch  # a second release adds nothing
    assert patch is None and not brush.busy
    assert np.array_equal(t.mask, expected)


def test_undo_of_a_stroke_restores_the_mask_exactly():
    t = target()
    t.mask[5:15, 5:15] = True
    before = t.mask.copy()
    eraser = make_tool("eraser")
    eraser.press(t, 10, 10, value=True)  # the eraser removes whatever the modifier says
    eraser.move(t, 30, 10, held=True)
    patch = eraser.release(t).patch
    assert patch is not None and not t.mask[10, 10]
    patch.apply(t.mask, undo=True)
    assert np.array_equal(t.mask, before)
    patch.apply(t.mask, undo=False)
    assert not t.mask[10, 10]


def test_a_move_without_the_button_paints_nothing():
    t = target()
    brush = make_tool("brush")
    assert brush.move(t, 10, 10, held=False).changed == [] and not t.mask.any()
    assert isinstance(brush.outline(t), BrushOutline) and brush.outline(t).radius == 6.0


def test_a_soft_stroke_makes_the_soft_mask_and_records_it():
    t = target()
    t.brush_hardness = 0.3
    brush = make_tool("brush")
    brush.press(t, 30, 30, value=True)
    patch = brush.release(t).patch
    assert t.alpha is not None and t.alpha[30, 30] > 0 and 0 < t.alpha[30, 34] < 255
    assert patch is not None
    alpha_after = t.alpha.copy()
    patch.apply(t.mask, undo=True, alpha=t.alpha)
    assert not t.alpha.any() and not t.mask.any()
    patch.apply(t.mask, undo=False, alpha=t.alpha)
    assert np.array_equal(t.alpha, alpha_after)


def test_rectangle_fills_on_release_and_alt_subtracts():
    t = target()
    rect = make_tool("rect")
    rect.press(t, 10, 10, value=True)
    rect.move(t, 30, 20, held=True)
    assert isinstance(rect.outline(t), Outline) and len(rect.outline(t).points) == 5
    result = rect.release(t)
    assert result.patch is not None and t.mask[15, 20] and not t.mask[25, 20]
    rect.press(t, 15, 12, value=False)
    rect.move(t, 20, 18, held=True)
    rect.release(t)
    assert not t.mask[15, 17] and t.mask[11, 11]


def test_lasso_polygon_closes_on_enter_and_escape_drops_it():
    t = target()
    lasso = make_tool("lasso")
    for x, y in ((10, 10), (50, 10), (30, 40)):
        lasso.press(t, x, y, value=True)
        lasso.release(t)
    assert lasso.busy and lasso.outline(t).to_cursor and not t.mask.any()
    result = lasso.enter(t)
    assert result is not None and result.patch is not None and t.mask[20, 30]
    assert lasso.enter(t) is None  # nothing open: Enter means Accept again
    lasso.press(t, 5, 5, value=True)
    lasso.release(t)
    assert lasso.cancel() and not lasso.busy and not lasso.cancel()


def test_a_dragged_lasso_closes_on_release():
    t = target()
    lasso = make_tool("lasso")
    lasso.press(t, 10, 10, value=True)
    for x, y in ((20, 10), (30, 12), (40, 20), (40, 30), (30, 40), (20, 40), (10, 30)):
        lasso.move(t, x, y, held=True)
    assert lasso.release(t).patch is not None and t.mask[25, 25] and not lasso.busy


def test_wand_and_subject_ask_the_application():
    t = target()
    assert make_tool("wand").press(t, 12.7, 30.2, value=False).request == ("wand", 12, 30, False)
    subject = make_tool("subject")
    subject.press(t, 40, 30, value=True)
    subject.move(t, 10, 5, held=True)
    assert subject.release(t).request == ("subject", (10, 5, 41, 31), True)
    subject.press(t, 10, 10, value=False, shift=True)
    subject.move(t, 12, 11, held=True)
    assert subject.release(t).request == ("subject marks", [(10, 10), (12, 11)], False)
    assert not t.mask.any()  # they never paint by themselves


def test_bracket_keys_step_the_brush_by_about_ten_percent():
    from inpaint_studio.core.pixels.tools.brush import next_brush_size

    assert next_brush_size(400, 1) == 440 and next_brush_size(400, -1) == 360
    assert next_brush_size(400, 1, large=True) == 600  # Shift: five steps
    assert next_brush_size(3, 1) == 4 and next_brush_size(1, -1) == 1  # at least 1 px, ≥ 1
    assert next_brush_size(990, 1, large=True, limits=(1, 1000)) == 1000
