"""Issue 18: the Generate panel is a view bound to the document's request, field by field;
it holds no values of its own."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from inpaint_studio.core.document.session import EditSession
from inpaint_studio.core.pipeline.request import RenderingSpeed

from ..conftest import DATA
from .test_window import opened

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_each_control_writes_its_field_and_shows_the_documents_value(window):
    await opened(window, DATA / "coffee.png")
    panel, s = window.panel, window.session
    panel.prompt_edit.setFocus()
    QTest.keyClicks(panel.prompt_edit, "a red kite ")
    # the document holds what was typed, and its echo never rewrites the control (the
    # trailing space being typed stays)
    assert s.doc.request["prompt"] == "a red kite "
    assert panel.prompt_edit.toPlainText() == "a red kite "
    panel.num_images_spin.setValue(3)
    assert s.doc.request["num_images"] == 3
    QTest.mouseClick(panel.random_seed_check, Qt.MouseButton.LeftButton)
    panel.seed_spin.setValue(1234)
    assert s.doc.request["seed"] == 1234
    # the document → every control
    s.set_request(prompt="a wooden boat", num_images=4, seed=None, feather=9)
    assert panel.prompt_edit.toPlainText() == "a wooden boat"
    assert panel.num_images_spin.value() == 4 and panel.feather_spin.value() == 9
    assert panel.random_seed_check.isChecked()
    assert window.generator.build_request().num_images == 4


async def test_the_provider_is_a_field_and_its_limits_fix_the_document(window):
    await opened(window, DATA / "coffee.png")
    panel, s = window.panel, window.session
    s.set_request(provider="ideogram", rendering_speed=RenderingSpeed.TURBO)
    assert panel.provider_name() == "ideogram" and panel.speed() is RenderingSpeed.TURBO
    s.set_request(provider="local")  # the offline engine has one speed: the document follows
    assert panel.provider_name() == "local"
    assert s.doc.request["rendering_speed"] is panel.speed()
    assert panel.speed_buttons[panel.speed()].isVisible()
    panel.provider_combo.setCurrentIndex(panel.provider_combo.findData("ideogram"))
    assert s.doc.request["provider"] == "ideogram"
    assert window.generator.provider().name == "ideogram"


async def test_opening_a_project_shows_its_whole_request(window, tmp_path):
    other = EditSession(session_id="writer")
    await other.open(DATA / "chelsea.png")
    other.set_request(prompt="a tabby cat", num_images=1, feather=2, provider="ideogram")
    path = await other.save(tmp_path / "cat.inpaint")
    await other.aclose(keep_recovery=False)
    await opened(window, DATA / "coffee.png")
    panel = window.panel
    panel.prompt_edit.setPlainText("not this")
    assert panel.style_refs.add_path(str(DATA / "rocket.jpg")) is None
    window.session.doc.unsaved = False
    await window.open_project(path)
    assert panel.prompt_edit.toPlainText() == "a tabby cat"
    assert (panel.num_images_spin.value(), panel.feather_spin.value()) == (1, 2)
    assert panel.provider_name() == "ideogram"
    assert panel.style_refs.refs == [] and window.session.doc.references == {}
    # what Generate sends and what Save writes are the same document
    request = window.generator.build_request()
    assert request.prompt == "a tabby cat" and request.style_references == ()
