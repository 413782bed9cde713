"""Issue 17: Quit always ends the process within a few seconds — a tool window or dialog left
open used to keep it alive (idle, holding its memory) after the main window closed."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import pytest

SCRIPT = r"""
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget
from inpaint_studio.ui.app import run_app

app = QApplication(sys.argv[:1])
left_open = []

def quit_with_a_tool_window_open():
    tool = QWidget()
    tool.setWindowTitle("a tool window the user left open")
    tool.show()
    left_open.append(tool)
    main = next(w for w in app.topLevelWidgets() if w.objectName() == "mainWindow")
    main.close()
    print("closed", flush=True)

QTimer.singleShot(1500, quit_with_a_tool_window_open)
sys.exit(run_app([sys.argv[1]]))
"""


def test_quit_ends_the_process_even_with_a_tool_window_open(data_dir, tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    t = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data_dir / "coffee.png")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "closed" in proc.stdout, proc.stderr
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - t < 30
    assert "Traceback" not in proc.stderr and "RuntimeError" not in proc.stderr, proc.stderr


@pytest.mark.asyncio(loop_scope="session")
async def test_the_save_dialog_never_stalls_a_running_job(window, server, data_dir, tmp_path):
    """Issue 17: "after saving a project a RuntimeError reached the log" — the static Save
    dialog ran a nested event loop inside a coroutine, so qasync stepped a running job's task
    inside it ("Cannot enter into task …") and that job never went on."""
    from PySide6.QtWidgets import QFileDialog

    from ..conftest import document_request, ellipse_mask
    from .test_window import opened, until

    s = window.session
    await opened(window, data_dir / "coffee.png")
    await s.replace_mask(ellipse_mask(400, 600, 280, 375, 45, 40), "Mask")
    server.answer_delay = 1.0
    job = window.generate(request=document_request(s, {"prompt": "a spoon", "num_images": 1}))
    task = window.save_project()  # no project file yet: the Save dialog opens
    await until(lambda: window.findChild(QFileDialog, "saveDialog") is not None, 5)
    await asyncio.sleep(1.5)  # the job's answer arrives while the dialog is open
    dialog = window.findChild(QFileDialog, "saveDialog")
    from PySide6.QtWidgets import QLineEdit

    dialog.setDirectory(str(tmp_path))
    name = next(e for e in dialog.findChildren(QLineEdit) if e.objectName() == "fileNameEdit")
    name.setText("saved.inpaint")  # as a user types the name
    dialog.accept()
    assert await task is True, s.doc.project_path
    assert s.doc.project_path == tmp_path / "saved.inpaint" and s.doc.project_path.exists(), (
        s.doc.project_path
    )
    await until(lambda: not job.is_active and not window.busy, 30)
    assert job.finished_ok, job.error
    crash = isolated_crash_reports()
    assert not crash, crash[0].read_text()


def isolated_crash_reports() -> list:
    from inpaint_studio.core.settings import data_dir as dd

    folder = dd() / "crash-reports"
    return list(folder.glob("*.txt")) if folder.exists() else []
