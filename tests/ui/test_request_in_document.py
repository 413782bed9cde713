"""Issue 18 (first step): what Generate sends and what Save writes never differ, and the
request's reference images belong to the document (saved, reopened, replayed)."""

from __future__ import annotations

import pytest

from inpaint_studio.core.document.session import EditSession

from ..conftest import ellipse_mask
from .test_window import generate_with_ideogram, opened, until

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_prompt_typed_is_what_is_sent_and_what_is_saved(window, data_dir, tmp_path):
    await opened(window, data_dir / "coffee.png")
    window.panel.prompt_edit.setPlainText("a wooden boat")
    window.session.doc.unsaved = False  # opening the next photo asks nothing
    await opened(window, data_dir / "chelsea.png")
    assert window.panel.prompt_edit.toPlainText() == "a wooden boat"
    await window.session.replace_mask(ellipse_mask(300, 451, 150, 200, 30, 30), "Mask")
    request = window.session.request()
    assert request.prompt == "a wooden boat"
    assert window.session.doc.request["prompt"] == "a wooden boat"  # the document holds it
    path = tmp_path / "boat.inpaint"
    assert await window.save_project(path)
    other = EditSession(session_id="reader")
    await other.open(path)
    assert other.doc.request["prompt"] == "a wooden boat"
    await other.aclose(keep_recovery=False)


async def test_reference_images_are_saved_reopened_and_replayed(window, data_dir, tmp_path):
    await opened(window, data_dir / "coffee.png")
    panel = window.panel
    panel.provider_combo.setCurrentIndex(panel.provider_combo.findData("ideogram"))
    assert panel.style_refs.add_path(str(data_dir / "rocket.jpg")) is None
    assert [r.name for r in window.session.doc.references["style_references"]] == ["rocket.jpg"]
    await window.session.replace_mask(ellipse_mask(400, 600, 280, 375, 45, 40), "Mask")
    await generate_with_ideogram(window, 1)
    job_id = max(window.session.doc.jobs)
    assert [r.name for r in window.session.doc.jobs[job_id].request.style_references] == [
        "rocket.jpg"
    ]
    panel.style_refs.clear_refs()
    assert "style_references" not in window.session.doc.references
    window.replay(job_id)  # Replay brings the job's references back
    await until(lambda: [r.name for r in panel.style_refs.refs] == ["rocket.jpg"], 5)
    path = tmp_path / "refs.inpaint"
    assert await window.save_project(path)
    window.session.doc.unsaved = False
    await opened(window, data_dir / "chelsea.png")  # a new photo keeps what the panel shows
    panel.style_refs.clear_refs()
    window.session.doc.unsaved = False
    await window.open_project(path)
    await until(lambda: [r.name for r in panel.style_refs.refs] == ["rocket.jpg"], 5)
    assert [r.name for r in window.session.doc.references["style_references"]] == ["rocket.jpg"]
    # a project without references shows none: the previous document's do not linger
    plain = EditSession(session_id="plain")
    await plain.open(data_dir / "coffee.png")
    plain.set_request(prompt="a cup", provider="ideogram")
    bare = await plain.save(tmp_path / "bare.inpaint")
    await plain.aclose(keep_recovery=False)
    window.session.doc.unsaved = False
    await window.open_project(bare)
    await until(lambda: panel.style_refs.refs == [], 5)
