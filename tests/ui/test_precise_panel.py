"""The editor with Ideogram 4.5 Precise Edit: the Model choice, Quality and References rows,
the price next to Generate (priced exactly by the loopback server's dry_run, cached by
request), a draft at low quality rendered final at high."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from inpaint_studio.core.pipeline.request import Quality
from inpaint_studio.core.pixels.imaging import load_reference

from ..conftest import ellipse_mask
from ..support.waiting import until
from .test_window import opened

DATA = Path(__file__).resolve().parent.parent / "data"
pytestmark = pytest.mark.asyncio(loop_scope="session")


def choose(combo, value) -> None:
    combo.setCurrentIndex(combo.findData(value))


async def test_model_quality_references_and_the_price_before_paying(window, server):
    p, s = window.panel, window.session
    await opened(window, DATA / "coffee.png")
    await s.replace_mask(ellipse_mask(400, 600, 280, 375, 45, 40), "Mask")
    choose(p.provider_combo, "ideogram")
    p.num_images_spin.setValue(2)
    # Ideogram 3.0: speeds, no quality; its price from the published table
    assert p.offers("rendering_speed") and not p.offers("quality")
    await until(lambda: p.price_label.text() == "≈ $0.12 · 2 × DEFAULT")
    choose(p.model_combo, "ideogram-4.5")
    assert s.doc.request["provider_options"] == {"model": "ideogram-4.5"}
    assert not p.offers("rendering_speed") and p.offers("quality") and p.offers("references")
    assert not p.offers("style_type") and not p.offers("magic_prompt")
    # 4.5: priced exactly by dry_run, nothing generated
    await until(lambda: p.price_label.text() == "≈ $0.12 · 2 × medium")  # no prompt yet
    assert server.dry_runs == 0
    p.prompt_edit.setPlainText("a silver spoon")
    await until(lambda: p.price_label.text() == "$0.12 · 2 × medium", timeout=20)
    assert server.dry_runs == 1 and server.generations == {}
    p.num_images_spin.setValue(4)
    await until(lambda: p.price_label.text() == "$0.24 · 4 × medium", timeout=20)
    p.num_images_spin.setValue(2)
    await until(lambda: p.price_label.text() == "$0.12 · 2 × medium")
    assert server.dry_runs == 2  # the earlier quote came from the cache
    # a draft at low quality, with a reference image
    QTest.mouseClick(p.quality_buttons[Quality.LOW], Qt.MouseButton.LeftButton)
    assert s.doc.request["quality"] is Quality.LOW
    s.set_request(references=(load_reference(DATA / "chelsea.png"),))
    QTest.mouseClick(p.generate_button, Qt.MouseButton.LeftButton)
    await until(lambda: len(s.doc.layers) == 2 and not window.busy, timeout=30)
    sent = [r for r in server.edit_requests if "dry_run=true" not in r.path][-1]
    assert sent.value("quality") == "low" and len(sent.get("reference_images")) == 1
    draft = next(lay for lay in s.doc.layers if lay.visible)
    assert draft.name.endswith("· low") and draft.is_draft
    row = window.jobs_view.rows[draft.job.id][1]
    assert "$0.06" in row.status.text()  # what it cost: 2 × low, as the provider reported
    # Render final: the same seed at high, in the draft's place
    final_job = window.render_at_quality()
    assert final_job is not None
    await until(lambda: any(lay.final_of == draft.key for lay in s.doc.layers), timeout=30)
    final = next(lay for lay in s.doc.layers if lay.final_of == draft.key)
    assert final.job.request.quality is Quality.HIGH and final.variant.seed == draft.variant.seed
    # the last billable request (a price quote for the panel's low may come after it)
    billed = [r for r in server.edit_requests if "dry_run=true" not in r.path]
    assert billed[-1].value("quality") == "high"
    # CometAPI shares the Model row with its own models: 4.5 is not one of them
    choose(p.provider_combo, "cometapi")
    models = [p.model_combo.itemData(i) for i in range(p.model_combo.count())]
    assert models == ["ideogram-3", "ideogram-2"]
    assert s.doc.request["provider_options"] == {"model": "ideogram-3"}
    assert p.offers("rendering_speed") and not p.offers("quality")


async def test_a_generation_running_at_a_crash_is_polled_to_the_end_on_restore(
    qapp, server, tmp_path, monkeypatch
):
    """Ideogram 4.5's generation id is in the recovery copy before any wait; the next start
    polls it to the end and never submits (pays) again."""
    import shutil

    from inpaint_studio.ui import MainWindow

    from .conftest import close_windows

    monkeypatch.setenv("IDEOGRAM_API_KEY", server.api_key)
    monkeypatch.setenv("IDEOGRAM_BASE_URL", server.base_url)
    server.pending_polls = 10**9
    qapp.setQuitOnLastWindowClosed(False)
    first, second = MainWindow(), None
    first.ask_before_closing = False
    try:
        await opened(first, DATA / "coffee.png")
        await first.session.replace_mask(ellipse_mask(400, 600, 280, 375, 45, 40), "Mask")
        p = first.panel
        choose(p.provider_combo, "ideogram")
        choose(p.model_combo, "ideogram-4.5")
        p.prompt_edit.setPlainText("a teaspoon")
        p.num_images_spin.setValue(2)
        job = first.generate()
        await until(lambda: job.prepared is not None and len(job.prepared.remote_tasks) == 1)
        await first.save_recovery()
        saved = tmp_path / "crashed-session"
        shutil.copytree(first.session.recovery_folder, saved)  # what a kill -9 now would leave
        first.runner.cancel(job)
        server.pending_polls = 0
        generations = len(server.generations)
        second = MainWindow()
        second.ask_before_closing = False
        await second.restore_recovery(saved)
        (resumed,) = second.runner.jobs.values()
        await second.runner.wait(resumed)
        assert resumed.finished_ok, resumed.error
        assert resumed.provider.label == "Ideogram 4.5 Precise Edit"
        await until(lambda: len(second.session.doc.layers) == 2)
        assert len(server.generations) == generations  # polled, never submitted (paid) again
        assert resumed.cost().exact and resumed.cost().usd == 0.12
    finally:
        await close_windows(first, second)
