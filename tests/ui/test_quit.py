"""Issue 17: Quit always ends the process within a few seconds — a tool window or dialog left
open used to keep it alive (idle, holding its memory) after the main window closed."""

from __future__ import annotations

import os
import subprocess
import sys
import time

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
