"""The one place that imports qasync (shared/docs/qt-async-notes.md §2: an upgrade is a
one-file change). One loop per process, created once."""

from __future__ import annotations

import asyncio

import qasync
from PySide6.QtWidgets import QApplication


def loop_factory() -> asyncio.AbstractEventLoop:
    """A qasync loop on the running ``QApplication`` (for ``asyncio.Runner``).

    Also shortens the interpreter's GIL switch interval from 5 ms to 1 ms: every Qt event that
    reaches Python must take the GIL, and with pixel workers busy each of those waits could
    cost up to the full interval (measured: the longest GUI stall during a job went from
    ~100 ms to under 50 ms).
    """
    import sys

    sys.setswitchinterval(0.001)
    app = QApplication.instance()
    assert app is not None, "create the QApplication first"
    loop = qasync.QEventLoop(app)
    loop.set_default_executor(worker_pool())
    loop.set_exception_handler(report_loop_exception)
    return loop


def report_loop_exception(loop, context: dict) -> None:
    """An exception no task awaited (a callback, a task nobody kept) is a crash report and one
    line on stderr naming it — never a silent leftover, never Python's words in the log."""
    import sys

    from ..core.crash import write_crash_report
    from ..core.textsafe import clean

    exc = context.get("exception")
    if exc is None:
        sys.stderr.write(
            f"inpaint-studio: {clean(context.get('message', 'an event-loop problem'), limit=300)}\n"
        )
        return
    sys.stderr.write(
        f"inpaint-studio: something went wrong inside Inpaint Studio; a report was written to "
        f"{write_crash_report(exc)}.\n"
    )


def lower_thread_priority() -> None:
    """Run the calling thread below the GUI thread (Linux: nice +5 for that thread only)."""
    import os
    import threading

    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 5)
    except (AttributeError, OSError):
        pass


def worker_pool():
    """The pool behind ``asyncio.to_thread`` in the editor: pixel work (decode, prepare,
    composite) runs below the GUI thread's priority, so the window stays responsive on a
    machine with few cores."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(
        max_workers=min(8, (os.cpu_count() or 2) + 2),
        thread_name_prefix="pixels",
        initializer=lower_thread_priority,
    )


def run(coro_fn, *args) -> int:
    """Run ``coro_fn(*args)`` on a qasync loop until it returns (Python 3.11: asyncio.Runner)."""
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(coro_fn(*args))
