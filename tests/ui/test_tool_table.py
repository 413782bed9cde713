"""Issue 18: the tool table feeds the Tools menu, the canvas and the F1 sheet."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel

from inpaint_studio.core.pixels.tools import tool_specs
from inpaint_studio.ui.dialogs import shortcut_sheet

from ..conftest import DATA
from .test_window import opened

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_every_tool_of_the_table_has_its_action_key_and_help(window):
    await opened(window, DATA / "coffee.png")
    sheet = shortcut_sheet(window)
    text = " ".join(label.text() for label in sheet.findChildren(QLabel))
    for spec in tool_specs():
        action = window.findChild(QAction, f"tool_{spec.name}")
        assert action is not None and action.text() == spec.label
        assert action.shortcut().toString() == spec.key
        assert spec.help.split(":")[0].split(" (")[0] in text
        window.canvas.setFocus()
        QTest.keyClick(window, getattr(Qt.Key, f"Key_{spec.key}"))
        assert window.canvas.tool == spec.name and action.isChecked()
    sheet.deleteLater()
    window.set_tool("brush")


async def test_enter_closes_an_open_polygon_before_it_means_accept(window):
    from .test_window import screen

    await opened(window, DATA / "coffee.png")
    c = window.canvas
    window.set_tool("lasso")
    c.setFocus()
    for x, y in ((100, 100), (220, 110), (180, 200)):
        QTest.mouseClick(
            c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, screen(c, x, y)
        )
    assert c.active_tool.busy and not c.mask.any()
    QTest.keyClick(c, Qt.Key.Key_Return)
    assert not c.active_tool.busy and c.mask.sum() > 1000  # the polygon, filled
    assert window.session.undo.undo_text == "Mask edit"
    QTest.mouseClick(
        c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, screen(c, 50, 50)
    )
    QTest.keyClick(c, Qt.Key.Key_Escape)  # Escape drops a polygon being drawn
    assert not c.active_tool.busy
    window.set_tool("brush")


async def test_brackets_change_a_large_brush_by_a_tenth(window):
    await opened(window, DATA / "coffee.png")
    spin = window.brush.size_spin
    spin.setValue(400)
    window.canvas.setFocus()
    QTest.keyClick(window, Qt.Key.Key_BracketRight)
    assert spin.value() == 440 and window.canvas.brush_radius == 220
    QTest.keyClick(window, Qt.Key.Key_BracketLeft, Qt.KeyboardModifier.ShiftModifier)
    assert spin.value() == 440 - 5 * 44
