from __future__ import annotations

import pytest_asyncio


def pytest_asyncio_loop_factories(config, item):
    """UI tests run on the real qasync loop (shared/docs/qt-async-notes.md §7)."""
    from PySide6.QtWidgets import QApplication

    def factory():
        QApplication.instance() or QApplication([])
        from inpaint_studio.ui.aio import loop_factory

        return loop_factory()

    return {"qasync": factory}


@pytest_asyncio.fixture(loop_scope="session")
async def window(qapp, server, monkeypatch):
    """The editor, shown offscreen, pointed at the loopback Ideogram server; closed cleanly.

    Tests wait with ``await`` only: ``QTest.qWait`` (or any nested event loop) inside a
    coroutine lets qasync run another task's step inside the test's ("Cannot enter into
    task"), and that task never wakes again. Such an error fails the test here; the close is
    bounded so a lost task is a failure, never a hang."""
    import asyncio

    from inpaint_studio.ui import MainWindow

    from ..support.waiting import until

    loop = asyncio.get_running_loop()
    before = loop.get_exception_handler()
    nested: list[str] = []

    def handler(lp, context) -> None:
        exc = context.get("exception")
        if isinstance(exc, RuntimeError) and "Cannot enter into task" in str(exc):
            nested.append(str(exc)[:300])
        before(lp, context) if before else lp.default_exception_handler(context)

    monkeypatch.setenv("IDEOGRAM_API_KEY", server.api_key)
    monkeypatch.setenv("IDEOGRAM_BASE_URL", server.base_url)
    qapp.setQuitOnLastWindowClosed(False)  # as the app does: clean-up runs before the loop stops
    w = MainWindow()
    w.ask_before_closing = False  # the unsaved-work question has tests of its own
    w.resize(1200, 800)
    w.show()
    loop.set_exception_handler(handler)
    try:
        await until(lambda: w.windowHandle() is not None and w.windowHandle().isExposed())
        yield w
        assert not nested, f"a task was stepped inside another (a nested event loop): {nested}"
    finally:
        loop.set_exception_handler(before)
        w.close()
        await asyncio.wait_for(w.aclose(), 60)
        dispose(w)


async def close_windows(*windows) -> None:
    """Close, await and delete each window that was made (None: never made)."""
    for w in windows:
        if w is not None:
            w.close()
            await w.aclose()
            dispose(w)


def dispose(w) -> None:
    """Delete a window now, on the GUI thread: left to Python's garbage collector, a window in
    a reference cycle may be freed on a worker thread, leaving Qt timers that point at it."""
    from PySide6.QtCore import QCoreApplication, QEvent

    w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
