"""The History dock: every job with its prompt, provider, speed, seed, time and state."""

from __future__ import annotations

import time

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class HistoryPanel(QWidget):
    """Lists jobs, newest first; search filters by prompt. Buttons act on the selected job.

    Signals carry the job id: ``replay_requested`` (restore mask and parameters),
    ``rerun_requested``, ``copy_prompt_requested``, ``copy_seed_requested``,
    ``show_results_requested``.
    """

    replay_requested = Signal(int)
    rerun_requested = Signal(int)
    copy_prompt_requested = Signal(int)
    copy_seed_requested = Signal(int)
    show_results_requested = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.search = QLineEdit(objectName="historySearch", placeholderText="Search prompts")
        self.list = QListWidget(objectName="historyList")
        self.list.setIconSize(QSize(40, 40))
        buttons = QHBoxLayout()
        self.buttons = {}
        for key, label, sig in (
            ("replay", "Replay", self.replay_requested),
            ("rerun", "Re-run", self.rerun_requested),
            ("prompt", "Copy prompt", self.copy_prompt_requested),
            ("seed", "Copy seed", self.copy_seed_requested),
            ("results", "Results", self.show_results_requested),
        ):
            b = QPushButton(label, objectName=f"history_{key}")
            b.clicked.connect(lambda _=False, s=sig: self._emit(s))
            buttons.addWidget(b)
            self.buttons[key] = b
        lay = QVBoxLayout(self)
        lay.addWidget(self.search)
        lay.addWidget(self.list, 1)
        lay.addLayout(buttons)
        self.search.textChanged.connect(self._filter)
        self.list.itemDoubleClicked.connect(lambda _: self._emit(self.replay_requested))

    def _emit(self, signal) -> None:
        item = self.list.currentItem()
        if item is not None:
            signal.emit(item.data(Qt.ItemDataRole.UserRole))

    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(
                bool(needle)
                and needle not in (item.data(Qt.ItemDataRole.UserRole + 1) or "").lower()
            )

    def set_entry(
        self,
        job_id: int,
        *,
        prompt: str,
        provider: str,
        speed: str,
        seed,
        created: float,
        state: str,
        draft_of: str | None = None,
        icon=None,
    ) -> None:
        """Add or update the row of ``job_id``."""
        item = self._find(job_id)
        if item is None:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, job_id)
            self.list.insertItem(0, item)
        when = time.strftime("%H:%M:%S", time.localtime(created))
        text = f"{prompt.strip()[:40] or '(no prompt)'}\n{provider} · {speed} · seed {seed if seed is not None else 'random'} · {when} · {state}"
        if draft_of:
            text += f"\nfinal of {draft_of}"
        item.setText(text)
        item.setData(Qt.ItemDataRole.UserRole + 1, prompt)
        if icon is not None:
            item.setIcon(icon)
        self._filter(self.search.text())

    def _find(self, job_id: int) -> QListWidgetItem | None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == job_id:
                return self.list.item(i)
        return None

    def select(self, job_id: int) -> None:
        item = self._find(job_id)
        if item is not None:
            self.list.setCurrentItem(item)
