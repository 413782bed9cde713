"""Mask and brush in the editor: a soft brush (hardness, opacity) paints a soft mask that the
blend uses while providers get a two-level one; the overlay steps aside while variants are
shown; feather preview; zoom to mask; the before/after split; brush settings remembered."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from ..support.waiting import until
from .test_window import generate_with_ideogram, opened, screen

pytestmark = pytest.mark.asyncio(loop_scope="session")


def stroke(c, points, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.mousePress(c, Qt.MouseButton.LeftButton, modifier, screen(c, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(c, screen(c, *p))
    QTest.mouseRelease(c, Qt.MouseButton.LeftButton, modifier, screen(c, *points[-1]))


def pixel(widget, x, y) -> tuple[int, int, int]:
    img = widget.grab().toImage()
    dpr = img.devicePixelRatio()
    c = img.pixelColor(round(x * dpr), round(y * dpr))
    return c.red(), c.green(), c.blue()


def without_overlay(window, pt) -> tuple[int, int, int]:
    """The canvas's pixel at ``pt`` with the mask overlay switched off (then on again)."""
    window.overlay_action.setChecked(False)
    window.toggle_overlay()
    try:
        return pixel(window.canvas, pt.x(), pt.y())
    finally:
        window.overlay_action.setChecked(True)
        window.toggle_overlay()


async def test_soft_brush_soft_mask_two_level_upload_and_soft_blend(
    window, data_dir, server, tmp_path
):
    await opened(window, data_dir / "coffee.png")
    c, s = window.canvas, window.session
    window.set_tool("brush")
    window.brush.size_spin.setValue(80)
    window.brush.hardness.setValue(50)
    window.brush.opacity.setValue(60)
    assert c.brush_radius == 40 and c.brush_hardness == 0.5 and c.brush_opacity == 0.6
    stroke(c, [(250, 200), (350, 200)])
    assert s.doc.mask_alpha is not None and c.alpha is s.doc.mask_alpha
    centre = s.doc.mask_alpha[200, 300]
    assert centre == round(255 * 0.6) and 0 < s.doc.mask_alpha[200 + 30, 300] < centre
    assert np.array_equal(s.doc.mask, s.doc.mask_alpha > 0)
    soft = s.doc.mask_alpha.copy()
    window.undo_stack.undo()
    assert not s.doc.mask.any() and not s.doc.mask_alpha.any()
    window.undo_stack.redo()
    assert np.array_equal(s.doc.mask_alpha, soft)
    # a rectangle (two-level tool) adds full strength beside the soft stroke
    window.set_tool("rect")
    stroke(c, [(40, 40), (90, 90)])
    assert (s.doc.mask_alpha[50:80, 50:80] == 255).all() and np.array_equal(
        s.doc.mask_alpha[150:260], soft[150:260]
    )
    # generate: the upload's mask is strictly two-level; the blend follows the strength
    job = await generate_with_ideogram(window, 1)
    assert job.request.mask_alpha is not None
    sent = np.asarray(
        Image.open(io.BytesIO(server.edit_requests[-1].get("mask")[0].data)).convert("L")
    )
    assert set(np.unique(sent)) <= {0, 255}
    layer = s.doc.layer(s.doc.latest[0]).variant.layer
    x0, y0, _, _ = layer.box
    a_centre = int(layer.alpha[200 - y0, 300 - x0])
    assert abs(a_centre - round(255 * 0.6)) <= 2  # the blend's strength is the brush's opacity
    # the soft mask is saved in the project and comes back
    path = tmp_path / "soft.inpaint"
    await window.save_project(path)
    s.doc.mask_alpha[...] = 0
    await window.open_image(path)
    assert s.doc.mask_alpha is not None and s.doc.mask_alpha[200, 300] == centre


async def test_overlay_steps_aside_while_a_variant_is_shown(window, data_dir, server):
    await opened(window, data_dir / "coffee.png")
    c = window.canvas
    window.set_tool("rect")
    stroke(c, [(200, 150), (400, 300)])
    pt = screen(c, 300, 220)
    tinted, plain = pixel(c, pt.x(), pt.y()), without_overlay(window, pt)
    assert tinted != plain  # the mask tints the photo while nothing is shown over it
    await generate_with_ideogram(window, 1)
    await until(lambda: any(lv.visible for lv in c.layers))
    c.repaint()
    assert pixel(c, pt.x(), pt.y()) == without_overlay(window, pt)  # the variant is shown untinted
    # the before/after split: left of the divider the original, right the variant
    window.split_action.trigger()
    assert c.split == 0.5
    left = screen(c, 300, 220)
    QTest.mousePress(
        c,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        type(left)(round(c.width() * 0.5), c.height() // 2),
    )
    QTest.mouseMove(c, type(left)(left.x() + 40, c.height() // 2))
    QTest.mouseRelease(
        c,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        type(left)(left.x() + 40, c.height() // 2),
    )
    assert abs(c.split * c.width() - (left.x() + 40)) <= 1
    assert window.undo_stack.count() == 1  # dragging the divider painted nothing
    assert pixel(c, left.x(), left.y()) == plain  # the original, left of the divider
    window.split_action.trigger()
    assert c.split is None


async def test_feather_preview_zoom_to_mask_and_brush_remembered(window, data_dir):
    await opened(window, data_dir / "coffee.png")
    c = window.canvas
    window.set_tool("rect")
    stroke(c, [(420, 260), (520, 330)])
    window.panel.feather_spin.setValue(12)
    assert c.feather_preview == 12 and window.feather_preview.timer.isActive()
    c.repaint()
    assert c.feather_preview == 12
    await window.zoom_to_mask()
    centre = c.to_photo(c.rect().center().toPointF())
    assert abs(centre[0] - 470) < 3 and abs(centre[1] - 295) < 3
    assert c.zoom > 1.5  # a 100×70 px mask fills most of the view
    window.brush.size_spin.setValue(123)
    window.brush.hardness.setValue(40)
    window.close()
    assert window.settings["brush"] == {"size": 123, "hardness": 40, "opacity": 100}


async def test_a_quick_second_dab_paints(window, data_dir):
    """Two quick clicks arrive as press + double-click: the second dab paints too."""
    await opened(window, data_dir / "coffee.png")
    c = window.canvas
    window.set_tool("brush")
    window.brush.size_spin.setValue(20)
    QTest.mouseClick(
        c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, screen(c, 100, 100)
    )
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    pos = screen(c, 200, 100).toPointF()
    for kind, buttons in (
        (QEvent.Type.MouseButtonDblClick, Qt.MouseButton.LeftButton),
        (QEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton),
    ):
        QApplication.sendEvent(
            c,
            QMouseEvent(
                kind,
                pos,
                c.mapToGlobal(pos),
                Qt.MouseButton.LeftButton,
                buttons,
                Qt.KeyboardModifier.NoModifier,
            ),
        )
    assert c.mask[100, 100] and c.mask[100, 200]
    assert window.undo_stack.count() == 2


async def test_digits_typed_into_number_fields_are_text(window, data_dir):
    """1–8 show variants on the canvas, but typed into a number field they are digits."""
    await opened(window, data_dir / "coffee.png")
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication

    def override(widget, key, text, mods=Qt.KeyboardModifier.NoModifier) -> bool:
        """Whether the widget takes ``key`` as text: Qt triggers no shortcut when the
        ShortcutOverride event it sends first is accepted."""
        ev = QKeyEvent(QEvent.Type.ShortcutOverride, key, mods, text)
        ev.ignore()
        QApplication.sendEvent(widget, ev)
        return ev.isAccepted()

    spin = window.brush.size_spin
    spin.setFocus()
    assert override(spin, Qt.Key.Key_3, "3")  # typed, not "show variant 3"
    spin.selectAll()
    QTest.keyClicks(spin, "300")
    QTest.keyClick(spin, Qt.Key.Key_Return)
    assert spin.value() == 300 and window.canvas.brush_radius == 150
    window.canvas.setFocus()
    assert not override(window.canvas, Qt.Key.Key_3, "3")  # on the canvas, 3 shows variant 3
    window.panel.num_images_spin.setFocus()
    window.panel.num_images_spin.selectAll()
    QTest.keyClicks(window.panel.num_images_spin, "4")
    assert window.panel.num_images_spin.value() == 4


async def test_soft_mask_prepared_early_stays_in_step_with_hard_strokes(window, data_dir):
    """Lowering hardness makes the soft mask in the background; a hard stroke painted after
    going back to 100 % still updates it, so the blend never uses a stale one."""
    await opened(window, data_dir / "coffee.png")
    c, s = window.canvas, window.session
    window.set_tool("brush")
    window.brush.hardness.setValue(50)
    await until(lambda: s.doc.mask_alpha is not None and c.alpha is s.doc.mask_alpha)
    window.brush.hardness.setValue(100)
    stroke(c, [(100, 100), (200, 100)])
    assert s.doc.mask[100, 150] and s.doc.mask_alpha[100, 150] == 255
    assert np.array_equal(s.doc.mask, s.doc.mask_alpha > 0)
    window.undo_stack.undo()
    assert not s.doc.mask.any() and not s.doc.mask_alpha.any()


async def test_select_subject_tool_with_refinement_and_undo(window, data_dir, tmp_path):
    """S, drag a rectangle round an object: it is added to the mask; a Shift+Alt stroke
    excludes part of it; each is one undo step."""
    from inpaint_studio.core.pixels.imaging import load_image

    from ..conftest import ellipse_mask

    bg = load_image(data_dir / "coffee.png").rgb.copy()
    obj = load_image(data_dir / "astronaut.png").rgb
    truth = ellipse_mask(400, 600, 200, 300, 110, 80)
    ys, xs = np.nonzero(truth)
    bg[ys, xs] = obj[ys - 200 + 256, xs - 300 + 256]
    Image.fromarray(bg).save(tmp_path / "object.png")
    await opened(window, tmp_path / "object.png")
    c, s = window.canvas, window.session
    QTest.keyClick(c, Qt.Key.Key_S)
    assert c.tool == "subject"
    stroke(c, [(210, 80), (390, 320)])
    await until(lambda: s.doc.mask.any() and not s.busy)
    assert (s.doc.mask & truth).sum() / (s.doc.mask | truth).sum() > 0.9
    assert window.undo_stack.count() == 1
    window.brush.size_spin.setValue(20)
    stroke(
        c,
        [(240, 200), (360, 200)],
        Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.AltModifier,
    )
    await until(lambda: window.undo_stack.count() == 2 and not s.busy)
    assert not s.doc.mask[200, 300] and s.doc.mask[150, 300]  # the band is excluded, the rest stays
    window.undo_stack.undo()
    assert s.doc.mask[200, 300]
    window.undo_stack.undo()
    assert not s.doc.mask.any()


async def test_expand_canvas_dialog_with_handles(window, data_dir):
    """Image ▸ Expand canvas: a preset, then the right handle dragged on the canvas; Expand
    makes the margin the mask; Generate fills it; the original stays exact."""
    await opened(window, data_dir / "coffee.png")
    c, s = window.canvas, window.session
    original = s.doc.photo.rgb.copy()
    dlg = window.expand_dialog()
    assert dlg.isVisible() and c.expand_frame == (150, 100, 150, 100)  # +25 % each side by default
    dlg.preset.setCurrentText("16:9")
    assert c.expand_frame == (55, 0, 56, 0) and dlg.result.text() == "711 × 400 px"
    handle = c.frame_handles()["right"].toPoint()
    QTest.mousePress(c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, handle)
    target = c.to_screen(600 + 200, 200).toPoint()
    QTest.mouseMove(c, target)
    QTest.mouseRelease(c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, target)
    right = c.expand_frame[2]
    assert (
        abs(right - 200) <= 2
        and dlg.spins["right"].value() == right
        and dlg.preset.currentText() == "Custom"
    )
    assert not s.doc.mask.any()  # dragging a handle paints nothing
    dlg.expand_button.click()
    await until(lambda: s.doc.photo.size == (600 + 55 + right, 400) and not s.busy)
    assert c.expand_frame is None and c.image_size == s.doc.photo.size
    assert s.doc.mask[:, :55].all() and not s.doc.mask[:, 55:655].any()
    assert np.array_equal(s.doc.photo.rgb[:, 55:655], original)
    await generate_with_ideogram(window, 1, "more table")
    assert np.array_equal(s.doc.composite()[:, 55:655], original)
    window.undo_stack.undo()
    assert s.doc.photo.size == (600, 400) and c.image_size == (600, 400) and not c.layers
