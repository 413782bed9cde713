"""The one place that imports qasync (shared/docs/qt-async-notes.md §2: an upgrade is a
one-file change). One loop per process, created once."""

from __future__ import annotations

import asyncio

import qasync
from PySide6.QtWidgets import QApplication


def loop_factory() -> asyncio.AbstractEventLoop:
    """A qasync loop on the running ``QApplication`` (for ``asyncio.Runner``)."""
    app = QApplication.instance()
    assert app is not None, "create the QApplication first"
    return qasync.QEventLoop(app)


def run(coro_fn, *args) -> int:
    """Run ``coro_fn(*args)`` on a qasync loop until it returns (Python 3.11: asyncio.Runner)."""
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(coro_fn(*args))
