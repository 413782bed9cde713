"""The editor, offscreen with pytest-qt, on the real qasync loop (one loop for the session)."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from inpaint_studio.core.pixels.imaging import load_image
from inpaint_studio.core.pixels.maskedit import fill_polygon, magic_wand, stamp_segment

from ..support.waiting import until

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def opened(window, path):
    await window.open_image(path)
    assert window.photo is not None
    window.canvas.set_zoom(1.0, centre=True)
    return window


async def generate_with_ideogram(window, n: int, prompt: str = "a silver spoon"):
    """Generate ``n`` variants through the loopback Ideogram server and wait for them to be
    layers."""
    p = window.panel
    p.provider_combo.setCurrentIndex(p.provider_combo.findData("ideogram"))
    p.prompt_edit.setPlainText(prompt)
    p.num_images_spin.setValue(n)
    job = window.generate()
    assert job is not None
    await window.runner.wait(job)
    await until(
        lambda: (
            sum(lay.job is job for lay in window.session.doc.layers) == n
            and not window.session.busy
        )
    )
    return job


def screen(canvas, x, y) -> QPoint:
    p = canvas.to_screen(x, y)
    return QPoint(round(p.x()), round(p.y()))


async def test_stroke_changes_exactly_the_brush_pixels(window, data_dir):
    await opened(window, data_dir / "coffee.png")
    c = window.canvas
    window.set_tool("brush")
    c.set_brush_radius(10)
    QTest.mousePress(
        c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, screen(c, 100, 100)
    )
    QTest.mouseMove(c, screen(c, 300, 100))  # a fast move: one event across 200 px
    QTest.mouseRelease(
        c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, screen(c, 300, 100)
    )
    expected = np.zeros((400, 600), bool)
    p0, p1 = c.to_photo(screen(c, 100, 100).toPointF()), c.to_photo(screen(c, 300, 100).toPointF())
    stamp_segment(expected, p0, p0, 10, True)
    stamp_segment(expected, p0, p1, 10, True)
    assert np.array_equal(c.mask, expected)
    assert c.mask[100, 200] and not c.mask[120, 200]  # no gap along the fast move, nothing outside
    assert window.undo_stack.count() == 1  # one step per stroke
    window.undo_stack.undo()
    assert not c.mask.any()
    window.undo_stack.redo()
    assert np.array_equal(c.mask, expected)
    # Alt subtracts with the brush
    QTest.mouseClick(
        c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier, screen(c, 200, 100)
    )
    assert not c.mask[100, 200]
    assert window.undo_stack.count() == 2


async def test_tool_shortcuts_and_shapes(window, data_dir):
    await opened(window, data_dir / "coffee.png")
    c = window.canvas
    c.setFocus()
    for key, tool in (
        (Qt.Key.Key_E, "eraser"),
        (Qt.Key.Key_R, "rect"),
        (Qt.Key.Key_L, "lasso"),
        (Qt.Key.Key_W, "wand"),
        (Qt.Key.Key_B, "brush"),
    ):
        QTest.keyClick(window, key)
        assert c.tool == tool
    r0 = c.brush_radius
    QTest.keyClick(window, Qt.Key.Key_BracketRight)
    assert c.brush_radius > r0
    window.set_tool("rect")
    QTest.mousePress(
        c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, screen(c, 50, 60)
    )
    QTest.mouseMove(c, screen(c, 150, 120))
    QTest.mouseRelease(
        c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, screen(c, 150, 120)
    )
    expected = np.zeros((400, 600), bool)
    fill_polygon(
        expected,
        [c.to_photo(screen(c, 50, 60).toPointF()), c.to_photo(screen(c, 150, 120).toPointF())],
        True,
    )
    assert np.array_equal(c.mask, expected) and c.mask.sum() > 5000
    await window.invert_mask()
    assert np.array_equal(c.mask, ~expected)
    await window.clear_mask()
    assert not c.mask.any()
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(c.mask, ~expected)
    QTest.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert not c.mask.any()
    QTest.keyClick(
        window,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    # magic wand on the dark background corner
    window.set_tool("wand")
    QTest.mouseClick(c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, screen(c, 5, 5))
    await until(lambda: c.mask.any())
    assert window.undo_stack.count() == 4
    ref = np.zeros((400, 600), bool)
    magic_wand(window.photo.rgb, ref, (5, 5), window.wand_tolerance, True)
    assert np.array_equal(c.mask, ref) and ref.sum() > 1000


async def test_grow_shrink_and_mask_import_export(window, data_dir, tmp_path):
    await opened(window, data_dir / "chelsea.png")
    c = window.canvas
    fill_polygon(c.mask, [(100, 100), (140, 100), (140, 140), (100, 140)], True)
    window.session.mask_changed()
    before = c.mask.sum()
    await window.grow_mask(5)
    assert c.mask.sum() > before
    await window.grow_mask(-5)
    assert abs(int(c.mask.sum()) - int(before)) < 60
    await window.export_mask(tmp_path / "m.png")
    exported = np.asarray(Image.open(tmp_path / "m.png").convert("L"))
    assert exported.shape == (300, 451) and np.array_equal(exported == 0, c.mask)
    Image.fromarray(
        np.where(np.arange(451)[None, :].repeat(300, 0) < 200, 0, 255).astype(np.uint8)
    ).save(tmp_path / "half.png")
    await window.import_mask(tmp_path / "half.png")
    assert c.mask[:, :200].all() and not c.mask[:, 200:].any()
    Image.new("L", (10, 10)).save(tmp_path / "small.png")
    await window.import_mask(tmp_path / "small.png")
    assert "must be the same size" in window.last_error
    assert c.mask[:, :200].all()  # the user's mask is untouched


async def test_invalid_combination_disables_generate(window, data_dir):
    await opened(window, data_dir / "coffee.png")
    panel = window.panel
    assert not panel.generate_button.isEnabled()  # empty mask
    assert "mask is empty" in panel.generate_button.toolTip()
    fill_polygon(window.canvas.mask, [(10, 10), (60, 60)], True)
    window.session.mask_changed()  # an in-place edit of the document's mask, announced
    panel.provider_combo.setCurrentIndex(panel.provider_combo.findData("ideogram"))
    panel.prompt_edit.setPlainText("a cat")
    assert panel.generate_button.isEnabled(), panel.generate_button.toolTip()
    panel.set_speed(
        __import__(
            "inpaint_studio.core.pipeline.request", fromlist=["RenderingSpeed"]
        ).RenderingSpeed.FLASH
    )
    assert panel.char_ref.add_path(str(data_dir / "astronaut.png")) is None
    assert not panel.generate_button.isEnabled()
    assert "does not work at FLASH speed" in panel.generate_button.toolTip()
    assert "FLASH" in panel.char_ref.toolTip()
    panel.char_ref.clear_refs()
    assert panel.generate_button.isEnabled()
    # the offline engine hides what it cannot take
    panel.provider_combo.setCurrentIndex(panel.provider_combo.findData("local"))
    assert not panel.offers("style_preset")
    assert not panel.speed_buttons[
        __import__(
            "inpaint_studio.core.pipeline.request", fromlist=["RenderingSpeed"]
        ).RenderingSpeed.TURBO
    ].isVisibleTo(panel)


async def test_generate_two_variants_end_to_end(window, data_dir, tmp_path, server):
    await opened(window, data_dir / "coffee.png")
    c = window.canvas
    window.set_tool("brush")
    c.set_brush_radius(25)
    QTest.mousePress(
        c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, screen(c, 380, 120)
    )
    QTest.mouseMove(c, screen(c, 370, 250))
    QTest.mouseRelease(
        c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, screen(c, 370, 250)
    )
    panel = window.panel
    panel.provider_combo.setCurrentIndex(panel.provider_combo.findData("ideogram"))
    panel.prompt_edit.setPlainText("a silver spoon")
    panel.num_images_spin.setValue(2)
    from inpaint_studio.core.pipeline.request import RenderingSpeed

    panel.set_speed(RenderingSpeed.TURBO)
    await until(lambda: "What will be sent" in panel.sent_label.text())
    assert "2 images billed" in panel.sent_label.text() and c.context_box is not None
    assert panel.generate_button.isEnabled(), panel.generate_button.toolTip()
    QTest.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    assert window.jobs_list.count() == 1
    first = window.runner.jobs[max(window.runner.jobs)]
    # the upload the preview already encoded is the one sent: no second encode
    assert (
        first.prepared is not None
        and first.prepared.encoded is window.generator.preview_prepared[1].encoded
    )
    await until(lambda: window.layers_panel.list.count() == 2)
    assert len(c.layers) == 2
    assert sum(lv.visible for lv in c.layers) == 1  # the newest variant is shown
    assert "Last seed" in panel.last_seed_label.text()
    QTest.keyClick(window, Qt.Key.Key_2)
    visible = [lv.key for lv in c.layers if lv.visible]
    assert visible == [window.session.doc.latest[1]]
    # the exported composite keeps every pixel outside the mask
    out = tmp_path / "export.png"
    await window.export_composite(out)
    original = load_image(data_dir / "coffee.png").rgb
    result = np.asarray(Image.open(out).convert("RGB"))
    mask = c.mask
    assert np.array_equal(result[~mask], original[~mask])
    assert not np.array_equal(result[mask], original[mask])
    # a JPEG export embeds the shown layer's parameters, and gets the user's normal permissions
    await window.export_composite(tmp_path / "export.jpg")
    meta = json.loads(Image.open(tmp_path / "export.jpg").info["comment"])
    shown = window.session.doc.layer(window.session.doc.latest[1])
    assert [lay["seed"] for lay in meta["layers"]] == [shown.variant.seed]
    assert meta["layers"][0]["parameters"]["prompt"] == shown.job.request.prompt
    assert (tmp_path / "export.jpg").stat().st_mode & 0o044 == 0o044
    # draft → final: Render at QUALITY with the variant's seed
    draft_key = window.selected_key()
    variant = window.session.doc.layer(draft_key).variant
    final = window.render_at_quality()
    assert final is not None and final.request.rendering_speed is RenderingSpeed.QUALITY
    assert final.request.seed == variant.seed
    await until(lambda: window.layers_panel.list.count() == 3)
    assert "final of" in window.layers_panel.list.item(0).text()
    assert server.edit_requests[-1].value("rendering_speed") == "QUALITY"
    # the final takes the draft's place: the draft is hidden, the final shown and selected
    fin = window.session.doc.layer(window.selected_key())
    assert (
        fin.final_of == draft_key
        and fin.visible
        and not window.session.doc.layer(draft_key).visible
    )
    assert [lv.key for lv in c.layers if lv.visible] == [fin.key]
    assert "None" not in window.layers_panel.list.item(0).text()
    # accept bakes it in, undoably
    rgb_before = window.photo.rgb.copy()
    window.layers_panel.list.setCurrentRow(0)
    await window.accept_variant()
    assert not np.array_equal(window.photo.rgb, rgb_before)
    assert np.array_equal(window.photo.rgb[~mask], rgb_before[~mask])
    window.undo_stack.undo()
    assert np.array_equal(window.photo.rgb, rgb_before)


async def test_failure_shows_in_row_and_status_bar(window, data_dir, server):
    await opened(window, data_dir / "coffee.png")
    fill_polygon(window.canvas.mask, [(200, 200), (260, 260)], True)
    window.session.mask_changed()  # an in-place edit of the document's mask, announced
    panel = window.panel
    panel.provider_combo.setCurrentIndex(panel.provider_combo.findData("ideogram"))
    panel.prompt_edit.setPlainText("x")
    server.script = [(402, {"error": "Insufficient credits"}, {})]
    job = window.generate()
    await window.runner.wait(job)
    await asyncio.sleep(0.05)
    item, row = window.jobs_view.rows[job.id]
    assert (
        "out of credits" in row.error.text()
        and row.error.isVisibleTo(row)
        and "d33" in row.error.styleSheet()
    )
    assert row.label.text() == f"#{job.id} x" and not row.progress.isVisibleTo(row)
    assert "out of credits" in window.statusBar().currentMessage()
    assert row.copy.isVisibleTo(row)
    # withheld variants show as rows that say so
    panel.prompt_edit.setPlainText("unsafe-first")
    panel.num_images_spin.setValue(2)
    job2 = window.generate()
    await window.runner.wait(job2)
    await until(lambda: window.layers_panel.list.count() == 2)
    texts = [window.layers_panel.list.item(i).text() for i in range(2)]
    assert any("withheld by the safety filter" in t for t in texts)


async def test_typing_in_the_prompt_is_not_taken_by_shortcuts(window, data_dir):
    await opened(window, data_dir / "coffee.png")
    window.set_tool("brush")
    edit = window.panel.prompt_edit
    edit.setFocus()
    QTest.keyClicks(edit, "Wear 2 red boots")
    QTest.keyClick(edit, Qt.Key.Key_Delete)
    assert edit.toPlainText() == "Wear 2 red boots"
    assert window.canvas.tool == "brush"  # neither W, E, R nor B switched tools


async def test_preferences_defaults_and_drop(window, data_dir, tmp_path):
    from inpaint_studio.core import settings as cfg
    from inpaint_studio.core.pipeline.request import RenderingSpeed

    s = cfg.load_settings()
    s.update({"default_speed": "TURBO", "default_num_images": 4, "default_provider": "ideogram"})
    cfg.save_settings(s)
    window.settings = cfg.load_settings()
    window.generator.refresh_providers()
    window.apply_defaults()
    assert window.panel.num_images_spin.value() == 4
    assert window.panel.speed() is RenderingSpeed.TURBO
    assert window.acceptDrops()


async def test_every_provider_listed_and_capabilities_follow_model(window, data_dir):
    panel = window.panel
    names = [panel.provider_combo.itemData(i) for i in range(panel.provider_combo.count())]
    assert sorted(names) == sorted(
        ["local", "ideogram", "ideogram-v2", "magnific", "1min", "cometapi"]
    )
    assert names[0] == "ideogram"  # the configured one (key in the environment) comes first
    panel.provider_combo.setCurrentIndex(names.index("cometapi"))
    assert panel.model_combo.isVisibleTo(panel)
    styles = [panel.style_type_combo.itemText(i) for i in range(panel.style_type_combo.count())]
    assert "FICTION" in styles and "ANIME" not in styles
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("ideogram-2"))
    styles = [panel.style_type_combo.itemText(i) for i in range(panel.style_type_combo.count())]
    assert "ANIME" in styles and "FICTION" not in styles
    from inpaint_studio.core.pipeline.request import RenderingSpeed

    assert not panel.speed_buttons[RenderingSpeed.QUALITY].isVisibleTo(panel)
    panel.provider_combo.setCurrentIndex(names.index("1min"))
    assert not panel.model_combo.isVisibleTo(panel)
    assert panel.offers("negative_prompt")
    assert not panel.negative_prompt_edit.isVisibleTo(panel)  # the Style section starts closed
    panel.sections["Style"].header.click()
    assert panel.negative_prompt_edit.isVisibleTo(panel)
    assert window.settings["generate_sections"]["Style"] is True  # remembered
