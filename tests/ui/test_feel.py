"""Issue 20, the editing feel: what a retoucher's hands expect (real keys and mouse through
pytest-qt)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from ..conftest import DATA, ellipse_mask
from ..support.waiting import until
from .test_window import opened, screen

pytestmark = pytest.mark.asyncio(loop_scope="session")


def pixel(canvas, x: int, y: int) -> tuple[int, int, int]:
    img = canvas.grab().toImage()
    p = screen(canvas, x, y)
    c = img.pixelColor(p.x(), p.y())
    return c.red(), c.green(), c.blue()


async def test_holding_tab_shows_the_original_without_the_mask_tint(window):
    await opened(window, DATA / "coffee.png")
    await window.session.replace_mask(ellipse_mask(400, 600, 200, 300, 80, 120), "Mask")
    c = window.canvas
    c.setFocus()
    await asyncio.sleep(0.05)  # never QTest.qWait in a coroutine: a nested loop
    photo = tuple(int(v) for v in window.session.doc.photo.rgb[200, 300])
    assert pixel(c, 300, 200) != photo  # the mask is tinted while editing
    QTest.keyPress(window, Qt.Key.Key_Tab)
    try:
        assert c.show_original
        assert max(abs(a - b) for a, b in zip(pixel(c, 300, 200), photo, strict=True)) <= 1
    finally:
        QTest.keyRelease(window, Qt.Key.Key_Tab)
    assert not c.show_original and pixel(c, 300, 200) != photo
    assert np.asarray(window.session.doc.mask).any()


async def test_return_in_a_toolbar_field_gives_the_canvas_the_keyboard(window):
    await opened(window, DATA / "coffee.png")
    c, brush = window.canvas, window.brush
    window.set_tool("brush")
    brush.hardness.setFocus()
    brush.hardness.lineEdit().selectAll()
    QTest.keyClicks(brush.hardness, "80")
    QTest.keyClick(brush.hardness, Qt.Key.Key_Return)
    assert brush.hardness.value() == 80 and window.focusWidget() is c
    size = brush.size_spin.value()
    QTest.keyClick(window, Qt.Key.Key_BracketRight)  # [ ] size the brush, not the field
    assert brush.size_spin.value() > size and brush.hardness.value() == 80
    # the very next drag paints, whole
    QTest.mousePress(
        c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, screen(c, 100, 100)
    )
    QTest.mouseMove(c, screen(c, 200, 150))
    QTest.mouseRelease(
        c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, screen(c, 200, 150)
    )
    m = window.session.doc.mask
    assert m[100, 100] and m[150, 200] and m[125, 150]
    brush.hardness.setValue(100)


async def test_a_click_on_a_hidden_variants_row_shows_it_and_enables_accept(window):
    from .test_window import generate_with_ideogram

    await opened(window, DATA / "coffee.png")
    await window.session.replace_mask(ellipse_mask(400, 600, 280, 375, 45, 40), "Mask")
    await generate_with_ideogram(window, 2)
    lst, doc = window.layers_panel.list, window.session.doc
    hidden_row = next(
        i
        for i in range(lst.count())
        if not doc.layer(lst.item(i).data(Qt.ItemDataRole.UserRole)).visible
    )
    rect = lst.visualItemRect(lst.item(hidden_row))
    QTest.mouseClick(
        lst.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center()
    )
    key = lst.item(hidden_row).data(Qt.ItemDataRole.UserRole)
    assert doc.selected == key and doc.layer(key).visible
    assert [lay.key for lay in doc.layers if lay.visible] == [key]
    assert window.layers_panel.accept_button.isEnabled()
    window.findChild(type(window.undo_action), "discardAllAction").trigger()
    assert doc.layers == [] and window.session.undo.undo_text == "Discard all variants"
    window.undo()
    assert len(doc.layers) == 2


async def test_expand_with_variants_asks_once_to_accept_or_discard(window):
    from PySide6.QtWidgets import QMessageBox, QPushButton

    from inpaint_studio.ui.expand_dialog import ExpandDialog

    from .test_window import generate_with_ideogram

    await opened(window, DATA / "coffee.png")
    s = window.session
    await s.replace_mask(ellipse_mask(400, 600, 280, 375, 45, 40), "Mask")
    await generate_with_ideogram(window, 2)
    before = np.array(s.doc.photo.rgb)
    shown = next(lay.key for lay in s.doc.layers if lay.visible)
    task = window.expand_dialog()
    await until(lambda: window.findChild(QMessageBox, "expandVariantsDialog") is not None)
    box = window.findChild(QMessageBox, "expandVariantsDialog")
    box.findChild(QPushButton, "acceptShownButton").click()
    await task
    assert s.doc.layers == [] and not np.array_equal(s.doc.photo.rgb, before)
    assert s.doc.extra["accepted_layers"][-1]["name"].startswith("a silver spoon")
    dlg = window.findChild(ExpandDialog)
    assert dlg is not None and dlg.isVisible()  # then the Expand dialog, as asked
    dlg.reject()
    window.undo()  # the discarded other variant comes back
    window.undo()  # and the accept is undone
    assert np.array_equal(s.doc.photo.rgb, before) and len(s.doc.layers) == 2
    assert shown in [lay.key for lay in s.doc.layers]
    # Cancel leaves everything as it was
    task = window.expand_dialog()
    await until(lambda: window.findChild(QMessageBox, "expandVariantsDialog") is not None)
    window.findChild(QMessageBox, "expandVariantsDialog").reject()
    await task
    assert len(s.doc.layers) == 2 and np.array_equal(s.doc.photo.rgb, before)


async def test_a_save_that_takes_a_while_shows_its_progress(window, tmp_path, monkeypatch):
    from inpaint_studio.ui import files

    from .test_window import generate_with_ideogram

    await opened(window, DATA / "coffee.png")
    await window.session.replace_mask(ellipse_mask(400, 600, 280, 375, 45, 40), "Mask")
    await generate_with_ideogram(window, 3)
    bar = window.save_progress
    seen: list[tuple[int, int, bool]] = []
    bar.valueChanged.connect(lambda v: seen.append((v, bar.maximum(), bar.isVisible())))
    monkeypatch.setattr(files, "SAVE_PROGRESS_AFTER_MS", 0)  # as if it took over 0.5 s
    assert await window.save_project(tmp_path / "three.inpaint")
    assert seen and all(visible for *_, visible in seen)
    assert seen[-1][0] == seen[-1][1]  # it reached the end
    assert not bar.isVisible()  # and went away
    seen.clear()
    monkeypatch.setattr(files, "SAVE_PROGRESS_AFTER_MS", 500)
    assert await window.save_project(tmp_path / "quick.inpaint")  # a quick save shows nothing
    assert not any(visible for *_, visible in seen) and not bar.isVisible()
