"""The recovery banner: every session an earlier run left unsaved, one at a time, each
restored or discarded on its own (never modal)."""

from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from ..core.document.model import RecoverySummary


def describe(s: RecoverySummary) -> str:
    """``coffee.inpaint — last change 2026-11-23 06:30, 2 jobs, 1 interrupted``."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.time))
    jobs = f"{s.jobs} job{'s' if s.jobs != 1 else ''}"
    if s.interrupted:
        jobs += f", {s.interrupted} interrupted"
    damaged = " (damaged)" if s.problems else ""
    return f"{s.name}{damaged} — last change {when}, {jobs}"


class RecoveryBanner(QWidget):
    """ "Work from an earlier session was not saved" with Restore / Discard for the first
    leftover session, and how many more there are; each answer moves on to the next.

    Signals:
        restore_requested(RecoverySummary), discard_requested(RecoverySummary).
    """

    restore_requested = Signal(object)
    discard_requested = Signal(object)

    def __init__(self) -> None:
        super().__init__(objectName="recoveryBanner")
        self.setStyleSheet("#recoveryBanner { background: #fff3c4; } QLabel { color: #333; }")
        self.label = QLabel(wordWrap=True, objectName="recoveryLabel")
        self.restore = QPushButton("Restore", objectName="recoveryRestore")
        self.discard = QPushButton("Discard", objectName="recoveryDiscard")
        self.skip = QPushButton(
            "Later", objectName="recoveryLater", toolTip="Keep it for the next start"
        )
        lay = QHBoxLayout(self)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.restore)
        lay.addWidget(self.discard)
        lay.addWidget(self.skip)
        self.summaries: list[RecoverySummary] = []
        self.restore.clicked.connect(
            lambda: self.summaries and self.restore_requested.emit(self.summaries[0])
        )
        self.discard.clicked.connect(
            lambda: self.summaries and self.discard_requested.emit(self.summaries[0])
        )
        self.skip.clicked.connect(lambda: self.done(self.summaries[0]) if self.summaries else None)
        self.hide()

    def show_summaries(self, summaries: list[RecoverySummary]) -> None:
        self.summaries = list(summaries)
        self._update()

    def done(self, summary: RecoverySummary) -> None:
        """``summary`` was restored, discarded or put off: show the next one."""
        self.summaries = [s for s in self.summaries if s.folder != summary.folder]
        self._update()

    def _update(self) -> None:
        if not self.summaries:
            self.hide()
            return
        more = len(self.summaries) - 1
        rest = f" ({more} more after this one)" if more else ""
        self.label.setText(
            f"Work from an earlier session was not saved: {describe(self.summaries[0])}. Restore it?{rest}"
        )
        self.show()
