"""Nothing lost: projects through the editor, and SIGKILL at several points then restore."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from inpaint_studio.core.pixels.maskedit import fill_polygon

from .conftest import close_windows, dispose
from .test_window import generate_with_ideogram, opened, until

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROOT = Path(__file__).resolve().parents[2]


async def make_two_variants(window, data_dir):
    await opened(window, data_dir / "coffee.png")
    fill_polygon(window.canvas.mask, [(330, 230), (420, 230), (420, 330), (330, 330)], True)
    window.session.mask_changed()  # an in-place edit of the document's mask, announced
    job = await generate_with_ideogram(window, 2)
    await until(lambda: len(window.canvas.layers) == 2)
    return job


async def test_project_round_trip_through_the_editor(window, data_dir, tmp_path, qapp):
    job = await make_two_variants(window, data_dir)
    s = window.session
    shown = s.doc.selected  # the first variant is shown and selected
    s.set_opacity(shown, 0.4)
    await window.accept_variant()
    assert s.doc.layer(shown) is None and len(s.doc.layers) == 1
    s.set_visible(s.doc.layers[0].key, True)
    s.set_opacity(s.doc.layers[0].key, 0.6)
    target = tmp_path / "coffee.inpaint"
    await window.save_project(target)
    assert target.exists() and not window.unsaved
    mask = window.canvas.mask.copy()
    rgb = window.photo.rgb.copy()
    layers = {lv.key: (lv.rgba.copy(), lv.opacity, lv.visible) for lv in window.canvas.layers}
    # a second window opens the project exactly
    from inpaint_studio.ui import MainWindow

    other = MainWindow()
    other.ask_before_closing = False
    try:
        await other.open_image(target)
        assert np.array_equal(other.canvas.mask, mask)
        assert np.array_equal(other.photo.rgb, rgb)  # the accepted edit replayed
        assert other.photo.source == (data_dir / "coffee.png").read_bytes()
        got = {lv.key: (lv.rgba, lv.opacity, lv.visible) for lv in other.canvas.layers}
        assert got.keys() == layers.keys()
        for k, (rgba, op, vis) in layers.items():
            assert (
                np.array_equal(got[k][0], rgba)
                and got[k][1] == pytest.approx(op)
                and got[k][2] == vis
            )
        assert job.id in other.history and other.panel.prompt_edit.toPlainText() == "a silver spoon"
        assert other.history_panel.list.count() == 1
        # history: replay restores the job's mask and parameters
        other.canvas.mask[...] = False
        other.panel.prompt_edit.setPlainText("something else")
        await other.replay(job.id)
        assert np.array_equal(other.canvas.mask, job.request.mask)
        assert other.panel.prompt_edit.toPlainText() == "a silver spoon"
        # re-blend from the stored raw result, without regenerating
        other.layers_panel.list.setCurrentRow(0)
        key = other.selected_key()
        before = next(v for v in other.canvas.layers if v.key == key).rgba.copy()
        await other.reblend(feather=30, colour_match=False)
        assert not np.array_equal(next(v for v in other.canvas.layers if v.key == key).rgba, before)
        # a damaged project is refused and changes nothing
        bad = tmp_path / "bad.inpaint"
        bad.write_bytes(target.read_bytes()[:1000])
        await other.open_image(bad)
        assert "damaged or truncated" in other.last_error
        assert np.array_equal(other.photo.rgb, rgb)
    finally:
        other.close()
        await other.aclose()
        dispose(other)


async def test_history_search_rerun_and_copy(window, data_dir, server):
    job = await make_two_variants(window, data_dir)
    hp = window.history_panel
    hp.search.setText("spoon")
    assert not hp.list.item(0).isHidden()
    hp.search.setText("zebra")
    assert hp.list.item(0).isHidden()
    hp.search.setText("")
    hp.select(job.id)
    hp.buttons["seed"].click()
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == str(job.variants[0].seed)
    n = len(server.edit_requests)
    hp.buttons["rerun"].click()
    await until(lambda: len(server.edit_requests) == n + 1)
    assert hp.list.count() == 2


def _driver(mode, env, photo=None):
    args = [sys.executable, "-m", "tests.ui.crash_driver", mode] + ([str(photo)] if photo else [])
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for(proc, marker, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"driver ended early: {proc.stderr.read()[-2000:]}")
        if line.startswith(marker):
            return line
        if line.startswith("FAILED"):
            raise AssertionError(line)
    raise AssertionError(f"no {marker} within {timeout} s")


def _restore(env) -> dict:
    proc = _driver("restore", env)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["stroke", "upload", "results"])
async def test_sigkill_then_restore(mode, server, tmp_path, data_dir):
    env = dict(
        os.environ,
        INPAINT_STUDIO_CONFIG_DIR=str(tmp_path / "cfg"),
        IDEOGRAM_API_KEY=server.api_key,
        IDEOGRAM_BASE_URL=server.base_url,
        QT_QPA_PLATFORM="offscreen",
    )
    if mode == "upload":
        server.hang_after_upload = 30
    proc = _driver(mode, env, data_dir / "coffee.png")
    try:
        marker = {"stroke": "MID_STROKE", "upload": "UPLOADING", "results": "RESULTS"}[mode]
        await asyncio.to_thread(_wait_for, proc, marker)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    server.hang_after_upload = 0
    state = await asyncio.to_thread(_restore, env)
    assert state.get("restorable", True), state
    assert state["mask_sum"] > 2000  # stroke A survived
    assert state["prompt"] == "a paper boat" and state["num_images"] == 2
    if mode == "upload":
        assert list(state["jobs"].values()) == ["interrupted"]
    if mode == "results":
        assert state["layers"] == 2 and len(state["variant_seeds"]) == 2
        assert list(state["jobs"].values()) == ["done"]


async def test_remote_tasks_resume_after_a_crash(qapp, data_dir, tmp_path, monkeypatch):
    """A Magnific task still running when the program died is polled to the end on restore."""
    import shutil

    from inpaint_studio.ui import MainWindow

    from ..servers import MagnificServer

    srv = MagnificServer().start()
    monkeypatch.setenv("MAGNIFIC_API_KEY", srv.api_key)
    monkeypatch.setenv("MAGNIFIC_BASE_URL", srv.base_url)
    srv.polls_before_done = 10_000
    qapp.setQuitOnLastWindowClosed(False)
    first, second = MainWindow(), None
    first.ask_before_closing = False
    try:
        await opened(first, data_dir / "coffee.png")
        fill_polygon(first.canvas.mask, [(330, 230), (420, 330)], True)
        first.session.mask_changed()
        p = first.panel
        p.provider_combo.setCurrentIndex(p.provider_combo.findData("magnific"))
        p.prompt_edit.setPlainText("a teaspoon")
        p.num_images_spin.setValue(2)
        job = first.generate()
        await until(
            lambda: (
                job.prepared is not None
                and len(job.prepared.remote_tasks) == 2
                and job.stage == "waiting"
            )
        )
        await first.save_recovery()
        saved = tmp_path / "crashed-session"
        shutil.copytree(first.session.recovery_folder, saved)  # what a kill -9 now would leave
        first.runner.cancel(job)
        srv.polls_before_done = 1
        for t in srv.tasks.values():
            t["polls"] = 1
        posts = len(srv.posts)
        second = MainWindow()
        second.ask_before_closing = False
        await second.restore_recovery(saved)
        resumed = [j for j in second.runner.jobs.values()]
        assert len(resumed) == 1
        await second.runner.wait(resumed[0])
        assert resumed[0].finished_ok, resumed[0].error
        await until(lambda: len(second.canvas.layers) == 2)
        assert len(srv.posts) == posts  # polled, never re-submitted (nothing billed twice)
        assert sorted(v.seed for v in resumed[0].variants) == sorted(
            t.seed for t in job.prepared.remote_tasks
        )
    finally:
        await close_windows(first, second)
        srv.stop()


async def test_journal_dialog_shows_size_and_clears(window, data_dir):
    await make_two_variants(window, data_dir)
    window.show_journal()
    from PySide6.QtWidgets import QDialog, QLabel, QPushButton

    dlg = window.findChild(QDialog, "journalDialog")
    assert dlg is not None
    text = dlg.findChildren(QLabel)[0].text()
    assert text.startswith("2 results") and "MB" in text
    clear = next(b for b in dlg.findChildren(QPushButton) if b.text() == "Clear older than")
    clear.click()
    assert "Deleted 0" in dlg.findChildren(QLabel)[0].text()
    dlg.close()
    # the history row carries the first variant's thumbnail
    await until(lambda: not window.history_panel.list.item(0).icon().isNull())


async def test_export_layers_from_the_editor(window, data_dir, tmp_path):
    """File ▸ Export layers writes a PSD with the original and both variants, as shown."""
    await make_two_variants(window, data_dir)
    names = [lay.name for lay in window.session.doc.layers]
    shown = [lay.visible for lay in window.session.doc.layers]
    await window.files.export_layers(tmp_path / "two.psd")
    from psd_tools import PSDImage

    psd = PSDImage.open(tmp_path / "two.psd")
    assert [lay.name for lay in psd] == ["Original", *names]
    assert [lay.visible for lay in list(psd)[1:]] == shown
