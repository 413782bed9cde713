"""Starting and stopping the editor with the right shutdown order (qt-async-notes §4)."""

from __future__ import annotations

import asyncio
import os
import sys


async def _main(app, paths: list[str], smoke: bool) -> int:
    from .main_window import MainWindow

    window = MainWindow()
    window.show()
    if paths:
        window.open_image(paths[0])
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)
    if smoke:
        # packaging smoke test: start, let the loop run, close, shut down cleanly
        await asyncio.sleep(0.5)
        window.close()
    await closed.wait()
    await window.aclose()
    return 0


def run_app(argv: list[str]) -> int:
    """Open the editor; ``argv`` may hold a photo path (and ``--smoke-quit`` for packaging)."""
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from ..core.request import resource_path
    from . import aio

    smoke = "--smoke-quit" in argv
    paths = [a for a in argv if not a.startswith("--")]
    if smoke and not os.environ.get("QT_QPA_PLATFORM") and sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Inpaint Studio")
    app.setOrganizationName("Inpaint Studio")
    icon = resource_path("icons", "inpaint-studio.png")
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    app.setQuitOnLastWindowClosed(False)
    return aio.run(_main, app, paths, smoke)
