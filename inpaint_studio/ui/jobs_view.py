"""The Jobs dock: one row per job of the session (stage, progress, time, Cancel, Copy
details), and the History dock's binding to the session."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.document.session import EditSession
from ..core.events import DocumentReplaced, Event, JobAdded, JobProgressed, LayersChanged
from ..core.pipeline.jobs import Job
from ..core.pipeline.params import to_json
from ..core.pipeline.protocol import Stage
from .history import HistoryPanel


class JobRow(QWidget):
    """One job in one compact row: prompt, provider and speed; a progress bar (determinate
    for upload and download, busy while the provider works); elapsed time; a failure's
    sentence in red under it; Cancel and Copy details."""

    cancel_requested = Signal(int)
    copy_requested = Signal(int)

    def __init__(self, job_id: int) -> None:
        super().__init__()
        self.job_id = job_id
        self.label = QLabel(objectName="jobLabel")
        self.label.setMinimumWidth(60)
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.progress = QProgressBar(
            objectName="jobProgress", minimum=0, maximum=100, textVisible=True
        )
        self.progress.setFixedWidth(150)
        self.progress.setMaximumHeight(16)
        self.status = QLabel(objectName="jobStatus")
        self.error = QLabel(objectName="jobError", wordWrap=True, visible=False)
        self.error.setStyleSheet("color: #d33;")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cancel = QToolButton(text="Cancel", objectName="jobCancel")
        self.copy = QToolButton(text="Copy details", objectName="jobCopy")
        self.copy.setVisible(False)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 1, 4, 1)
        outer.setSpacing(0)
        lay = QHBoxLayout()
        lay.addWidget(self.label, 1)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.copy)
        lay.addWidget(self.cancel)
        outer.addLayout(lay)
        outer.addWidget(self.error)
        self.cancel.clicked.connect(lambda: self.cancel_requested.emit(self.job_id))
        self.copy.clicked.connect(lambda: self.copy_requested.emit(self.job_id))

    def show_job(self, job, final_of: str | None = None) -> None:
        prompt = job.request.prompt.strip().replace("\n", " ") or "offline fill"
        title = f"#{job.id} {prompt}"
        self.label.setText(title)
        self.label.setToolTip(
            f"{title}\n{job.provider.label} · {job.setting}"
            + (f"\nfinal of {final_of}" if final_of else "")
        )
        stage = job.stage
        bar = self.progress
        if stage in (Stage.UPLOADING, Stage.DOWNLOADING, Stage.COMPOSITING) and job.total:
            bar.setRange(0, 100)
            bar.setValue(round(100 * (job.done or 0) / job.total))
            bar.setFormat(f"{stage} %p%")
        elif job.is_active:
            bar.setRange(0, 0)  # busy: the provider gives no progress while it works
        else:
            bar.setRange(0, 100)
            bar.setValue(100 if stage == Stage.DONE else 0)
            bar.setFormat(str(stage))
        bar.setVisible(job.is_active)
        failed = job.error is not None and stage == Stage.FAILED
        state = f"{stage} · " if not job.is_active else ""
        self.status.setText(f"{state}{job.setting.title()} · {job.elapsed:.1f} s{_cost_text(job)}")
        self.status.setStyleSheet("color: #d33;" if failed else "")
        said = job.error is not None and stage in (Stage.FAILED, Stage.CANCELLED)
        self.error.setVisible(said)  # a cancel says whether the request may still be billed
        self.error.setText(str(job.error) if said else "")
        self.cancel.setVisible(job.is_active)
        self.copy.setVisible(failed)


def _cost_text(job: Job) -> str:
    """`` · $0.24`` (``≈`` for a price-table estimate), or "" when the price is unknown."""
    cost = job.cost()
    if cost.usd is None:
        return ""
    return f" · {'' if cost.exact else '≈ '}${cost.usd:.2f}"


def seed_of(job: Job):
    return next((v.seed for v in job.variants if v.seed is not None), job.request.seed)


class JobsView:
    """Renders the session's jobs as rows of a ``QListWidget`` (newest first)."""

    def __init__(self, session: EditSession, jobs_list: QListWidget) -> None:
        self.session, self.list = session, jobs_list
        jobs_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        jobs_list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.rows: dict[int, tuple[QListWidgetItem, JobRow]] = {}
        session.subscribe(self._on_change)

    def warm_up(self) -> None:
        """Pay Qt's one-time set-up of a row (style, progress bar, item widget; ~50 ms) at start
        instead of when the first job is queued."""
        row = JobRow(0)
        row.progress.setRange(0, 0)
        item = QListWidgetItem()
        self.list.addItem(item)
        self.list.setItemWidget(item, row)
        row.sizeHint()
        self.list.takeItem(self.list.row(item))
        row.deleteLater()

    def _on_change(self, event: Event) -> None:
        match event:
            case DocumentReplaced():
                self.list.clear()
                self.rows.clear()
                for job in self.session.doc.jobs.values():
                    if job.is_active:
                        self.update(job)
            case JobAdded(job=job) | JobProgressed(job=job):
                self.update(job)

    def update(self, job: Job) -> None:
        entry = self.rows.get(job.id)
        if entry is None:
            row = JobRow(job.id)
            row.cancel_requested.connect(self.session.cancel)
            row.copy_requested.connect(self._copy_details)
            item = QListWidgetItem()
            self.list.insertItem(0, item)
            self.list.setItemWidget(item, row)
            entry = self.rows[job.id] = (item, row)
        item, row = entry
        draft = self.session.doc.draft_of.get(job.id)
        lay = self.session.doc.layer(draft) if draft else None
        row.show_job(job, (lay.name if lay else draft) if draft else None)
        item.setSizeHint(
            QSize(0, row.sizeHint().height())
        )  # as wide as the list, never scrolled sideways

    def tick(self) -> None:
        for job in self.session.doc.jobs.values():
            if job.is_active:
                self.update(job)

    def _copy_details(self, job_id: int) -> None:
        job = self.session.doc.jobs.get(job_id)
        if job is None:
            return
        err = job.error
        QGuiApplication.clipboard().setText(
            f"{err}\n{getattr(err, 'details', '')}\nprovider: {job.provider.name}\n"
            f"parameters: {to_json(job.request)}\nsent: {job.sent}"
        )


class HistoryView:
    """Renders the session's jobs in the History dock; its buttons call ``actions``
    (an object with ``replay``, ``rerun`` and ``show_results`` taking a job id)."""

    def __init__(self, session: EditSession, panel: HistoryPanel, actions, icon_for) -> None:
        self.session, self.panel, self.icon_for = session, panel, icon_for
        session.subscribe(self._on_change)
        panel.replay_requested.connect(actions.replay)
        panel.rerun_requested.connect(actions.rerun)
        panel.show_results_requested.connect(actions.show_results)
        panel.copy_prompt_requested.connect(
            lambda jid: QGuiApplication.clipboard().setText(
                self.session.doc.jobs[jid].request.prompt
            )
        )
        panel.copy_seed_requested.connect(self._copy_seed)

    def _on_change(self, event: Event) -> None:
        match event:
            case DocumentReplaced():
                self.panel.list.clear()
                for job in self.session.doc.jobs.values():
                    self.entry(job)
            case LayersChanged():
                for job in self.session.doc.jobs.values():
                    if job.variants:
                        self.entry(job)
            case JobAdded(job=job) | JobProgressed(job=job) if job.id in self.session.doc.jobs:
                if (
                    job.stage
                    in (Stage.QUEUED, Stage.DONE, Stage.FAILED, Stage.CANCELLED, Stage.WAITING)
                    or self.panel._find(job.id) is None
                ):
                    self.entry(job)

    def entry(self, job: Job) -> None:
        state = job.stage if job.stage != Stage.INTERRUPTED else "interrupted — re-run to resubmit"
        icon = next(
            (
                self.icon_for(lay.key)
                for lay in self.session.doc.layers
                if lay.job.id == job.id and self.icon_for(lay.key) is not None
            ),
            None,
        )
        draft = self.session.doc.draft_of.get(job.id)
        lay = self.session.doc.layer(draft)
        self.panel.set_entry(
            job.id,
            prompt=job.request.prompt,
            provider=job.provider.label,
            speed=job.setting + _cost_text(job),
            seed=seed_of(job),
            created=job.created,
            state=state,
            draft_of=lay.name if lay else draft,
            icon=icon,
        )

    def _copy_seed(self, job_id: int) -> None:
        seed = seed_of(self.session.doc.jobs[job_id])
        QGuiApplication.clipboard().setText("" if seed is None else str(seed))
