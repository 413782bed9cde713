"""Ordinary actions through the real window: the unsaved-work question, Accept on what is
visible only, and restoring leftover sessions one by one (issue 9)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from inpaint_studio.core.document.session import EditSession

from ..conftest import ellipse_mask
from .conftest import dispose
from .test_window import opened, until

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def answer(window, button) -> str:
    """Wait for the unsaved-work question, check its words, press ``button``."""
    await until(lambda: window.findChild(QMessageBox, "unsavedDialog") is not None, 5)
    box = window.findChild(QMessageBox, "unsavedDialog")
    text = box.text()
    box.button(button).click()
    await asyncio.sleep(0.05)
    return text


async def test_unsaved_work_is_asked_about_before_it_is_replaced(window, data_dir, tmp_path):
    s = window.session
    await opened(window, data_dir / "coffee.png")
    assert window.windowTitle() == "coffee.png — Inpaint Studio"
    await s.replace_mask(ellipse_mask(400, 600, 200, 300, 40, 40), "Mask")
    assert window.windowTitle() == "coffee.png * — Inpaint Studio"
    await s.save_recovery()
    mask = s.doc.mask.copy()
    manifest = s.recovery_folder / "manifest.json"
    # Open → Cancel: everything stays, the recovery copy too
    task = window.open_image(data_dir / "chelsea.png")
    assert "coffee.png" in await answer(window, QMessageBox.StandardButton.Cancel)
    assert await task is False
    assert (
        s.doc.photo_path.name == "coffee.png"
        and np.array_equal(s.doc.mask, mask)
        and s.doc.unsaved
        and manifest.exists()
    )
    # Paste and drop ask too
    QGuiApplication.clipboard().setImage(QImage(str(data_dir / "chelsea.png")))
    window.files.paste()
    await answer(window, QMessageBox.StandardButton.Cancel)
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(data_dir / "chelsea.png"))])
    window.dropEvent(
        QDropEvent(
            QPointF(10, 10),
            Qt.DropAction.CopyAction,
            md,
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
        )
    )
    await answer(window, QMessageBox.StandardButton.Cancel)
    await until(lambda: not window.busy)
    assert s.doc.photo_path.name == "coffee.png" and np.array_equal(s.doc.mask, mask)
    # Save: with a project file, it is saved first, then the other photo opens
    target = tmp_path / "coffee.inpaint"
    await window.save_project(target)
    await s.replace_mask(ellipse_mask(400, 600, 100, 100, 30, 30), "Mask 2")
    task = window.open_image(data_dir / "chelsea.png")
    await answer(window, QMessageBox.StandardButton.Save)
    assert await task is True
    assert s.doc.photo_path.name == "chelsea.png" and not s.doc.unsaved
    reopened = EditSession()
    await reopened.open(target)
    assert reopened.doc.mask[100, 100]  # the second change was saved before leaving
    # Don't Save: the change is dropped, the other file opens
    await s.replace_mask(ellipse_mask(300, 451, 100, 100, 30, 30), "Mask")
    task = window.open_image(data_dir / "coffee.png")
    await answer(window, QMessageBox.StandardButton.Discard)
    assert await task is True and s.doc.photo_path.name == "coffee.png" and not s.doc.mask.any()
    # Quit: Cancel keeps the window open
    await s.replace_mask(ellipse_mask(400, 600, 100, 100, 30, 30), "Mask")
    window.ask_before_closing = True
    try:
        window.close()
        await answer(window, QMessageBox.StandardButton.Cancel)
        assert window.isVisible() and s.doc.unsaved
    finally:
        window.ask_before_closing = False


async def masked(window, data_dir, provider: str):
    """The coffee photo with its spoon masked, ``provider`` chosen, two images."""
    await opened(window, data_dir / "coffee.png")
    await window.session.replace_mask(ellipse_mask(400, 600, 280, 375, 45, 40), "Mask")
    p = window.panel
    p.provider_combo.setCurrentIndex(p.provider_combo.findData(provider))
    p.num_images_spin.setValue(2)
    return window.session, p


async def test_accept_acts_on_a_visible_selected_variant_only(window, data_dir):
    s, p = await masked(window, data_dir, "ideogram")
    p.prompt_edit.setPlainText("a silver spoon")
    QTest.mouseClick(p.generate_button, Qt.MouseButton.LeftButton)
    await until(lambda: len(s.doc.layers) == 2 and not window.busy)
    lst, accept = window.layers_panel.list, window.layers_panel.accept_button
    hidden = next(lay.key for lay in s.doc.layers if not lay.visible)
    lst.setCurrentItem(window.layers_view.items[hidden])  # a row chosen shows its variant
    assert s.doc.selected == hidden and s.doc.layer(hidden).visible and accept.isEnabled()
    assert [lay.key for lay in s.doc.layers if lay.visible] == [hidden]
    # hidden again by its checkbox, it is not baked in: Enter and a double-click refuse
    window.layers_view.items[hidden].setCheckState(Qt.CheckState.Unchecked)
    assert not s.doc.layer(hidden).visible and not accept.isEnabled()
    before = s.doc.photo.rgb.copy()
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_Return)
    await until(lambda: not window.busy)
    assert np.array_equal(s.doc.photo.rgb, before) and len(s.doc.layers) == 2
    assert "only what is visible" in window.last_error
    other = next(lay.key for lay in s.doc.layers if lay.key != hidden)
    lst.setCurrentItem(window.layers_view.items[other])
    QTest.mouseClick(accept, Qt.MouseButton.LeftButton)
    await until(lambda: len(s.doc.layers) == 1 and not window.busy)
    assert not np.array_equal(s.doc.photo.rgb, before)
    assert s.doc.selected is None  # the one left is hidden: nothing is selected
    assert not accept.isEnabled()


async def test_leftover_sessions_are_restored_or_discarded_one_by_one(qapp, data_dir, tmp_path):
    from inpaint_studio.core.formats.recovery_folder import recovery_root
    from inpaint_studio.ui import MainWindow

    folders = []
    for name, photo in (("run-a", "coffee.png"), ("run-b", "chelsea.png")):
        old = EditSession(session_id=name, recovery_folder=recovery_root() / name)
        await old.open(data_dir / photo)
        await old.replace_mask(ellipse_mask(*old.doc.mask.shape, 50, 50, 20, 20), "Mask")
        if name == "run-a":
            old.doc.project_path = tmp_path / "poster.inpaint"
        await old.save_recovery()
        (old.recovery_folder / "pid").write_text("999999999")  # that run has ended
        folders.append(old.recovery_folder)
    qapp.setQuitOnLastWindowClosed(False)
    w = MainWindow()
    w.ask_before_closing = False
    try:
        w.show()
        banner = w.banner
        assert banner.isVisible() and "1 more" in banner.label.text()
        first = banner.summaries[0]
        assert (
            first.name in ("poster.inpaint", "chelsea.png") and "last change" in banner.label.text()
        )
        QTest.mouseClick(banner.restore, Qt.MouseButton.LeftButton)
        await until(lambda: w.photo is not None and not w.busy)
        other = next(f for f in folders if f != first.folder)
        assert not first.folder.exists() and other.exists()  # restoring one never deletes another
        assert banner.isVisible() and "more" not in banner.label.text()
        if first.name == "poster.inpaint":
            assert w.windowTitle() == "poster.inpaint * — Inpaint Studio"
        QTest.mouseClick(banner.discard, Qt.MouseButton.LeftButton)
        assert not other.exists() and not banner.isVisible()
    finally:
        w.close()
        await w.aclose()
        dispose(w)


async def test_after_generate_the_keys_act_on_the_canvas_not_the_prompt(window, data_dir):
    from PySide6.QtWidgets import QDialog, QLabel

    s, p = await masked(window, data_dir, "local")
    p.prompt_edit.setFocus()
    QTest.keyClicks(p.prompt_edit, "no spoon")
    QTest.keyClick(p.prompt_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.hasFocus()
    await until(lambda: len(s.doc.layers) == 2 and not window.busy, 60)
    QTest.keyClick(window.canvas, Qt.Key.Key_2)
    QTest.keyClick(window.canvas, Qt.Key.Key_Tab)
    assert p.prompt_edit.toPlainText() == "no spoon"  # neither "2" nor a tab was typed into it
    assert s.doc.selected == s.doc.latest[1] and s.doc.layer(s.doc.latest[1]).visible
    QTest.keyPress(window.canvas, Qt.Key.Key_Tab)
    assert window.canvas.show_original
    QTest.keyRelease(window.canvas, Qt.Key.Key_Tab)
    assert not window.canvas.show_original
    # Escape leaves a text field; Tab in the prompt moves focus instead of typing
    p.prompt_edit.setFocus()
    QTest.keyClick(p.prompt_edit, Qt.Key.Key_Escape)
    assert window.canvas.hasFocus()
    # F1 opens the shortcut sheet
    window.findChild(type(window.undo_action), "helpAction").trigger()
    sheet = window.findChild(QDialog, "shortcutSheet")
    assert sheet is not None and sheet.isVisible()
    assert "Magic wand" in sheet.findChild(QLabel).text()
    sheet.close()


async def test_the_click_that_focuses_the_canvas_paints(window, data_dir):
    """Issue 20: a press on the canvas always paints, focus or not (it used to be dropped)."""
    await opened(window, data_dir / "coffee.png")
    c = window.canvas
    window.panel.prompt_edit.setFocus()
    c.setFocus(Qt.FocusReason.MouseFocusReason)  # what a click on the unfocused canvas does first
    QTest.mouseClick(
        c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, c.rect().center()
    )
    assert window.session.doc.mask.any()
