"""The window's layout: fits the screen it opens on, one saved layout per screen, docks that
stay out of the way (Jobs comes forward when a job starts, Layers when results arrive)."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import QRect

from inpaint_studio.ui.layout import fitted, screen_key

from .conftest import dispose

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_fitted_never_exceeds_the_available_geometry():
    assert fitted(QRect(0, 0, 1280, 800)).size().toTuple() == (1177, 736)
    assert fitted(QRect(0, 0, 2560, 1440)) == QRect(580, 270, 1400, 900)
    small = fitted(QRect(100, 50, 1024, 600))
    assert QRect(100, 50, 1024, 600).contains(small)


async def make_window(qapp):
    from inpaint_studio.ui import MainWindow

    qapp.setQuitOnLastWindowClosed(False)
    w = MainWindow()
    w.ask_before_closing = False
    return w


async def close(w) -> None:
    w.close()
    await w.aclose()
    dispose(w)


async def test_first_window_fits_its_screen_and_layout_is_saved_per_screen(qapp):
    w = await make_window(qapp)
    try:
        avail = w.screen().availableGeometry()
        assert w.width() <= avail.width() and w.height() <= avail.height()
        w.show()
        # Generate and the prompt, speed and Generate button sit on the right; Layers, Jobs
        # and History are tabs below it, Layers in front
        tabs = w.tabifiedDockWidgets(w.docks["layersDock"])
        assert {d.objectName() for d in tabs} == {"jobsDock", "historyDock"}
        size = (min(700, avail.width() - 60), min(500, avail.height() - 60))
        w.resize(*size)
        size = w.size().toTuple()  # as large as the docks' minimum sizes allow
        assert size != fitted(avail).size().toTuple()
        w.docks["historyDock"].raise_()
        key = screen_key(w.screen())
        settings = w.settings
    finally:
        await close(w)
    assert list(settings["layouts"]) == [key] and "window_state" not in settings
    w2 = await make_window(qapp)
    try:
        assert w2.layout_.restored and w2.size().toTuple() == size
    finally:
        await close(w2)


async def test_generate_controls_visible_at_1280x800(window):
    """Prompt, speed and Generate are on screen without scrolling in a 1280×800 window."""
    window.resize(1280, 800)
    window.layout_.restored = False
    window.layout_.default_sizes()

    await asyncio.sleep(0.05)
    panel = window.panel
    dock = window.docks["generateDock"]
    for widget in (
        panel.prompt_edit,
        panel.speed_selector,
        panel.generate_button,
        panel.sent_label,
    ):
        top_left = widget.mapTo(dock, widget.rect().topLeft())
        bottom = widget.mapTo(dock, widget.rect().bottomLeft()).y()
        assert widget.isVisibleTo(window) and top_left.y() >= 0 and bottom <= dock.height(), (
            widget.objectName()
        )


async def test_each_section_opens_to_at_least_five_rows_at_1280x800(window, data_dir):
    """Style, References, Seed and Blend each show their first five rows (or all they have)
    when opened in a 1280×800 window with a request ready to send (its price and "What will
    be sent" shown), the docks below giving up the room; closing them gives it back."""
    import numpy as np
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QFormLayout

    from ..support.waiting import until

    window.resize(1280, 736)  # a 1280×800 screen's fitted window
    await window.open_image(data_dir / "coffee.png")
    mask = np.zeros((400, 600), bool)
    mask[150:300, 400:480] = True
    await window.session.replace_mask(mask, "Test mask")
    panel = window.panel
    panel.provider_combo.setCurrentIndex(panel.provider_combo.findData("ideogram"))
    panel.prompt_edit.setPlainText("a silver fork")
    await until(lambda: "billed" in panel.sent_label.text())
    assert panel.problems_label.isHidden()
    window.layout_.restored = False
    window.layout_.default_sizes()
    await asyncio.sleep(0.05)
    viewport = panel.sections_scroll.viewport()
    for sec in panel.sections.values():
        sec.set_open(False)
    await asyncio.sleep(0.05)
    below = window.docks["layersDock"]
    tabs_before = below.height()
    for title in ("Style", "References", "Seed", "Blend"):
        for sec in panel.sections.values():
            sec.set_open(False)
        sec = panel.sections[title]
        sec.set_open(True)
        rows = [i for i in range(sec.form.rowCount()) if sec.form.isRowVisible(i)]

        def seen_rows(sec=sec, rows=rows) -> int:
            view = QRect(0, 0, viewport.width(), viewport.height())
            seen = 0
            for i in rows[:5]:
                field = sec.form.itemAt(i, QFormLayout.ItemRole.FieldRole).widget()
                top = field.mapTo(viewport, field.rect().topLeft())
                bottom = field.mapTo(viewport, field.rect().bottomLeft())
                seen += view.contains(top) and view.contains(bottom)
            return seen

        # the layout settles over a few event-loop turns (slower under load): wait up to 3 s
        for _ in range(150):
            await asyncio.sleep(0.02)
            if (seen := seen_rows()) == min(5, len(rows)):
                break
        assert seen == min(5, len(rows)), (title, seen, len(rows), viewport.height())
        assert window.height() <= 736
    assert below.height() < tabs_before  # the room came from the Layers tabs
    for sec in panel.sections.values():  # closing the last open section gives it back
        sec.set_open(False)
    for _ in range(150):
        await asyncio.sleep(0.02)
        if abs(below.height() - tabs_before) <= 2:
            break
    assert abs(below.height() - tabs_before) <= 2, (below.height(), tabs_before)
