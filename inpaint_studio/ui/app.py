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
    window.windowClosed.connect(
        closed.set
    )  # a tool window or dialog left open never keeps the program alive
    if smoke:
        # packaging smoke test: start, let the loop run, close, shut down cleanly
        await asyncio.sleep(0.5)
        window.close()
    await closed.wait()
    for other in app.topLevelWidgets():
        if other is not window and other.isVisible():
            other.close()
    try:  # jobs cancelled, recovery copy kept or dropped, client closed: bounded, never a hang
        await asyncio.wait_for(window.aclose(), SHUTDOWN_SECONDS)
    except TimeoutError:
        sys.stderr.write(
            "inpaint-studio: shutting down took too long; the recovery copy keeps the work.\n"
        )
    return 0


#: Longest the editor's shutdown may take after its window closed, seconds.
SHUTDOWN_SECONDS = 10.0


def _exit_watchdog(code: int, seconds: float = 5.0) -> None:
    """End the process ``seconds`` after the event loop stopped if something (a worker thread
    still decoding, a library's non-daemon thread) would keep it alive: Quit always quits."""
    import threading

    timer = threading.Timer(seconds, lambda: os._exit(code))
    timer.daemon = True
    timer.start()


def run_app(argv: list[str]) -> int:
    """Open the editor; ``argv`` may hold a photo path (and ``--smoke-quit`` for packaging)."""
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from ..core.pipeline.request import resource_path
    from . import aio

    smoke = "--smoke-quit" in argv
    paths = [a for a in argv if not a.startswith("--")]
    if (
        smoke
        and not os.environ.get("QT_QPA_PLATFORM")
        and sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
    ):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Inpaint Studio")
    app.setOrganizationName("Inpaint Studio")
    icon = resource_path("icons", "inpaint-studio.png")
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    app.setQuitOnLastWindowClosed(False)
    code = aio.run(_main, app, paths, smoke)
    _exit_watchdog(code)
    return code
