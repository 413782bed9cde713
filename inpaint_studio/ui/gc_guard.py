"""Python's cyclic garbage collector runs on the GUI thread only.

Left automatic, the collector runs in whichever thread happens to allocate when a threshold is
passed — often a worker of ``asyncio.to_thread``. A Qt object it frees there is destroyed on
the wrong thread, its timers cannot be unregistered, and the next timer event crashes the
program (seen here: 3 of 8 runs of the UI tests before this guard, 0 of 8 with the collector
off). This is the usual remedy for Python Qt programs: automatic collection off, and a
``QTimer`` on the GUI thread that collects the generations whose thresholds were passed.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QTimer

INTERVAL_MS = 500
_timer: QTimer | None = None


def collect_if_due() -> None:
    """Collect the oldest generation whose allocation count passed its threshold."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    for generation in (2, 1, 0):
        if counts[generation] > thresholds[generation]:
            gc.collect(generation)
            return


def install() -> None:
    """Turn automatic collection off and collect from the GUI thread (idempotent)."""
    global _timer
    if _timer is not None:
        return
    gc.disable()
    _timer = QTimer(QCoreApplication.instance(), interval=INTERVAL_MS, timeout=collect_if_due)
    _timer.start()
