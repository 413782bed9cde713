"""The main window: a view of one :class:`~inpaint_studio.core.document.session.EditSession`.

The document (photo, mask and its undo history, layers, jobs, path, unsaved flag) lives in
the session; the canvas, the Generate, Layers, Jobs and History docks and the title render
it and send it commands. Heavy pixel work runs in ``asyncio.to_thread``; the GUI thread only
wraps finished numpy arrays in ``QImage`` s.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QListWidget,
    QMainWindow,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from ..core import settings as cfg
from ..core.document import persist, recovery
from ..core.document.session import EditSession
from ..core.events import (
    DocumentReplaced,
    ErrorRaised,
    Event,
    ImageChanged,
    JobAdded,
    JobProgressed,
    LayersChanged,
    MaskChanged,
    MaskStrengthReady,
    StatusChanged,
)
from ..core.formats.recovery_folder import recovery_root
from ..core.pipeline.jobs import Job
from ..providers import make_provider
from ..providers.http import make_client
from . import gc_guard
from .brush import BrushControls, FeatherPreview
from .canvas import Canvas
from .files import FileActions
from .generate_panel import GeneratePanel
from .generate_view import GenerateController
from .history import HistoryPanel
from .jobs_view import HistoryView, JobsView
from .layers_view import LayersPanel, LayersView
from .layout import SMALL_SCREEN, WindowLayout, scrolling
from .mask_actions import MaskActions
from .menus import build_menus
from .recovery import RecoveryBanner
from .subject import SubjectTool
from .window_state import WindowState


class QtTimer:
    """The :class:`~inpaint_studio.core.document.recovery.Autosaver` 's timer as a single-shot ``QTimer``."""

    def __init__(self, parent, callback) -> None:
        self.timer = QTimer(parent, singleShot=True, timeout=callback)

    def start(self, seconds: float) -> None:
        self.timer.start(int(seconds * 1000))

    def stop(self) -> None:
        self.timer.stop()


class MainWindow(MaskActions, WindowState, QMainWindow):
    """Inpaint Studio's main window. Construct inside a running QApplication with the qasync loop."""

    #: emitted when the window has really closed (after any Save question): the program ends
    #: then, even if a tool window or dialog is still open (``lastWindowClosed`` would wait)
    windowClosed = Signal()

    def __init__(self) -> None:
        super().__init__()
        gc_guard.install()
        self.setObjectName("mainWindow")
        self.settings = cfg.load_settings()
        self.client = make_client()
        from ..core.formats.journal import default_journal

        session_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{id(self) & 0xFFFF:04x}"
        self.session = EditSession(
            client=self.client,
            journal=default_journal(session_id),
            session_id=session_id,
            recovery_folder=recovery_root() / session_id,
            providers=make_provider,
        )
        self.autosaver = recovery.Autosaver(self.session, timer=lambda fire: QtTimer(self, fire))
        self.undo_stack = self.session.undo  # Edit ▸ Undo/Redo act on the session's history
        self.ask_before_closing = True
        self._closing_ok = False
        self.last_error = ""
        self.wand_tolerance = 24

        self.canvas = Canvas()
        self.banner = RecoveryBanner()
        central = QWidget()
        central_lay = QVBoxLayout(central)
        central_lay.setContentsMargins(0, 0, 0, 0)
        central_lay.setSpacing(0)
        central_lay.addWidget(self.banner)
        central_lay.addWidget(self.canvas, 1)
        self.setCentralWidget(central)
        self.setAcceptDrops(True)
        self.panel = GeneratePanel(self.settings.get("generate_sections"))
        self.panel.sections_changed.connect(self._sections_changed)
        self.panel.room_wanted.connect(
            lambda px: self.layout_.make_room(px, self.panel.sections_scroll)
        )
        self.layers_panel = LayersPanel()
        self.history_panel = HistoryPanel()
        self.jobs_list = QListWidget(objectName="jobsList")
        self.docks: dict[str, QDockWidget] = {}
        # on a small screen (960×540 logical at a device pixel ratio of 2) the Generate,
        # Layers and History panels scroll rather than push the window past the screen
        screen = QApplication.primaryScreen()
        small = screen is not None and screen.availableGeometry().height() < SMALL_SCREEN
        fit = scrolling if small else (lambda w, name: w)
        for name, title, widget in (
            ("generateDock", "Generate", fit(self.panel, "generateScroll")),
            ("layersDock", "Layers", fit(self.layers_panel, "layersScroll")),
            ("jobsDock", "Jobs", self.jobs_list),
            ("historyDock", "History", fit(self.history_panel, "historyScroll")),
        ):
            dock = QDockWidget(title, self, objectName=name)
            dock.setWidget(widget)
            self.docks[name] = dock
        self.layout_ = WindowLayout(self, self.docks)
        self.zoom_label = QLabel(objectName="zoomLabel")
        self.size_label = QLabel(objectName="sizeLabel")
        self.cursor_label = QLabel(objectName="cursorLabel")
        self.coverage_label = QLabel(objectName="coverageLabel")
        #: a save that takes over half a second shows its progress here
        self.save_progress = QProgressBar(objectName="saveProgress", maximumWidth=260)
        self.save_progress.setTextVisible(True)
        self.save_progress.hide()
        self.statusBar().addPermanentWidget(self.save_progress)
        for w in (self.cursor_label, self.size_label, self.coverage_label, self.zoom_label):
            self.statusBar().addPermanentWidget(w)
        self.brush = BrushControls(self.canvas)
        self.brush.restore(self.settings.get("brush"))
        self.canvas.soft_source = lambda: self.session.doc.soft_mask()
        for spin in (
            self.brush.hardness,
            self.brush.opacity,
        ):  # the soft mask is ready before the first stroke
            spin.valueChanged.connect(
                lambda v: v < 100 and self.spawn(self.session.prepare_soft_mask())
            )

        # views of the session
        self.files = FileActions(self, self.session)
        self.generator = GenerateController(self, self.session, self.panel)
        self.layers_view = LayersView(self.session, self.layers_panel, self.canvas, self.spawn)
        self.jobs_view = JobsView(self.session, self.jobs_list)
        self.history_view = HistoryView(
            self.session, self.history_panel, self.generator, self.layers_view.icon
        )
        self.layers_view.on_thumbnails.append(
            lambda: [
                self.history_view.entry(j) for j in self.session.doc.jobs.values() if j.variants
            ]
        )
        self.session.subscribe(self._on_change)
        self.session.undo.changed.connect(lambda _: self._undo_changed())
        self._mask_timer = QTimer(self, singleShot=True, interval=120, timeout=self._mask_settled)
        self._elapsed_timer = QTimer(self, interval=500, timeout=self.jobs_view.tick)
        build_menus(self)
        self._connect()
        self.generator.refresh_providers()
        self._restore_layout()
        self._elapsed_timer.start()
        QApplication.instance().installEventFilter(self)
        self.banner.restore_requested.connect(lambda s: self.restore_recovery(s.folder))
        self.banner.discard_requested.connect(self._discard_recovery)
        self.banner.show_summaries(recovery.list_recoveries())
        self._update_title()
        self._undo_changed()
        self.generator.validate()
        self.jobs_view.warm_up()  # Qt's one-time style set-up (~50 ms) now, not at the first Generate

    def _connect(self) -> None:
        c = self.canvas
        c.mask_edited.connect(lambda patch: self.session.commit_mask_edit(patch))
        c.cursor_moved.connect(
            lambda x, y: self.cursor_label.setText(f"{x}, {y}" if x >= 0 and y >= 0 else "")
        )
        c.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{c.device_zoom() * 100:.0f} %"))
        c.wand_requested.connect(self._wand)
        self.subject = SubjectTool(self, self.session, self.canvas)
        self.feather_preview = FeatherPreview(
            self.canvas, self.panel.feather_spin, self.layers_panel.reblend_feather
        )
        lp = self.layers_panel
        lp.accept_requested.connect(self.accept_variant)
        lp.discard_requested.connect(self.discard_variant)
        lp.discard_others_requested.connect(self.discard_others)
        lp.quality_requested.connect(self.render_at_quality)
        lp.reblend_requested.connect(lambda f, cm, g: self.reblend(f, cm, g))
        lp.original_button.toggled.connect(self._show_original)

    # -- the session's changes -------------------------------------------------------------------

    def _on_change(self, event: Event) -> None:
        s = self.session
        match event:
            case DocumentReplaced():
                assert s.doc.photo is not None
                pending = self.files.pending_pyramid
                overlay = s.doc.mask_alpha if s.doc.mask_alpha is not None else s.doc.mask
                pyramid = (
                    pending[1]
                    if pending and pending[0] is s.doc.photo.rgb
                    else self.canvas.photo_levels.pyramid(s.doc.photo.rgb, overlay)
                )
                self.files.pending_pyramid = None
                self.canvas.set_photo(s.doc.photo.rgb, s.doc.mask, pyramid, s.doc.mask_alpha)
                w, h = s.doc.photo.size
                self.size_label.setText(f"{w} × {h}")
                self._mask_settled()
            case MaskStrengthReady():  # only the soft mask appeared: nothing to repaint
                self._follow_soft_mask()
            case MaskChanged(rect=rect, shown=shown):
                self._follow_soft_mask()
                if not shown:  # a stroke's pyramid was brought up to date as it was painted
                    self.canvas.refresh_mask(rect)
                self._mask_timer.start()  # whole-mask work once a stroke pauses, not per segment
            case ImageChanged(rect=rect):
                assert s.doc.photo is not None
                self.canvas.set_rgb(s.doc.photo.rgb, rect)
            case StatusChanged():
                self._update_title()
            case ErrorRaised(message=message):
                self.report_error(message)
            case JobAdded():
                self.layout_.bring("jobsDock")
            case JobProgressed(job=job, recorded=False) if (
                job.stage == "failed" and job.error is not None
            ):
                self.report_error(str(job.error))
                self.layout_.bring("jobsDock")
            case LayersChanged() if s.doc.latest:
                shown = [s.doc.layer(key) for key in s.doc.latest]
                seeds = [lay.variant.seed for lay in shown if lay is not None]
                self.panel.show_last_seed(next((x for x in seeds if x is not None), None))
                self.layout_.bring("layersDock")

    def _follow_soft_mask(self) -> None:
        alpha = self.session.doc.mask_alpha
        if alpha is not None and self.canvas.alpha is not alpha:
            self.canvas.use_soft_mask(alpha)  # every stroke from now on keeps it in step

    def _update_title(self) -> None:
        self.setWindowTitle(self.session.doc.title)

    def _undo_changed(self) -> None:
        u = self.session.undo
        self.undo_action.setEnabled(u.can_undo)
        self.redo_action.setEnabled(u.can_redo)
        self.undo_action.setText(f"&Undo {u.undo_text}".strip())
        self.redo_action.setText(f"&Redo {u.redo_text}".strip())

    def _mask_settled(self) -> None:
        m = self.session.doc.mask
        if m is not None:  # a count over the whole mask is ~2 ms on 20 MP; once per change
            self.coverage_label.setText(f"mask {np.count_nonzero(m) * 100 / m.size:.1f} %")
        self.generator.validate()
        self.generator.preview_timer.start()

    # -- tasks and errors ------------------------------------------------------------------------

    def spawn(self, coro) -> asyncio.Task:
        """Run ``coro`` owned by the session; a failure is reported in the status bar."""
        return self.session.spawn(coro)

    @property
    def busy(self) -> bool:
        return self.session.busy

    def report_error(self, message: str) -> None:
        """Show a failure in the status bar (never a blocking dialog)."""
        self.last_error = message
        self.statusBar().showMessage(message, 15000)

    # -- the kept API (tests, app.py) -------------------------------------------------------------

    @property
    def photo(self):
        return self.session.doc.photo

    @property
    def history(self) -> dict[int, Job]:
        return self.session.doc.jobs

    @property
    def runner(self):
        return self.session.runner

    @property
    def unsaved(self) -> bool:
        return self.session.doc.unsaved

    def open_image(self, path: str | Path) -> asyncio.Task:
        """Open a photo or an ``.inpaint`` project (asking first about unsaved work); returns the task."""
        return self.files.open(path)

    def open_project(self, path: str | Path) -> asyncio.Task:
        return self.files.open(path)

    def save_project(self, path: str | Path | None = None) -> asyncio.Task | None:
        return self.files.save(path)

    def export_composite(self, path: str | Path) -> asyncio.Task:
        return self.files.export_composite(path)

    def export_mask(self, path: str | Path) -> asyncio.Task:
        return self.files.export_mask(path)

    def import_mask(self, path: str | Path) -> asyncio.Task | None:
        return self.files.import_mask(path)

    def composite(self) -> np.ndarray:
        """``(H, W, 3) uint8``: what is visible (call off the GUI thread for large photos)."""
        return self.session.doc.composite()

    def restore_recovery(self, folder: Path) -> asyncio.Task:
        async def run() -> None:
            summary = next((s for s in self.banner.summaries if s.folder == folder), None)
            if await self.files.restore(folder) and summary is not None:
                self.banner.done(summary)

        return self.spawn(run())

    def _discard_recovery(self, summary) -> None:
        persist.discard_recovery(summary.folder)
        self.banner.done(summary)

    def save_recovery(self):
        return self.session.save_recovery()

    # -- generate, layers -----------------------------------------------------------------------

    def generate(self, *, request=None, draft_of: str | None = None) -> Job | None:
        return self.generator.generate(request=request, draft_of=draft_of)

    def render_at_quality(self) -> Job | None:
        return self.generator.render_at_quality()

    def replay(self, job_id: int):
        return self.generator.replay(job_id)

    def rerun(self, job_id: int) -> Job | None:
        return self.generator.rerun(job_id)

    def selected_key(self) -> str | None:
        return self.session.doc.selected

    def show_variant(self, n: int) -> None:
        self.session.show_variant(n)

    def accept_variant(self) -> asyncio.Task:
        return self.spawn(self.session.accept())

    def discard_variant(self) -> bool:
        return self.session.discard()

    def discard_others(self) -> bool:
        return self.session.discard_others()

    def discard_all(self) -> bool:
        """Layers ▸ Discard all: every variant layer goes, as one undoable step."""
        return self.session.discard_all()

    def reblend_selected(self) -> asyncio.Task:
        """Layers ▸ Re-blend: the selected layer with the Layers panel's feather and colour."""
        lp = self.layers_panel
        return self.reblend(
            lp.reblend_feather.value(), lp.reblend_colour.isChecked(), lp.reblend_grain.isChecked()
        )

    def reblend(self, feather: int, colour_match: bool, grain: bool | None = None) -> asyncio.Task:
        return self.spawn(self.session.reblend(None, feather, colour_match, grain))

    def undo(self) -> None:
        self.session.undo.undo()

    def redo(self) -> None:
        self.session.undo.redo()

    def _show_original(self, on: bool) -> None:
        self.canvas.set_show_original(on)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if not getattr(self, "_sized_docks", False):
            self._sized_docks = True  # default proportions; a saved layout replaces them
            QTimer.singleShot(0, self, self.layout_.default_sizes)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        t = event.type()
        if t == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Escape and self.isActiveWindow():
            from PySide6.QtWidgets import QAbstractSpinBox, QLineEdit, QPlainTextEdit

            focus = QApplication.focusWidget()
            if (
                isinstance(focus, QLineEdit | QPlainTextEdit | QAbstractSpinBox)
                and focus.window() is self
            ):
                self.canvas.setFocus(
                    Qt.FocusReason.ShortcutFocusReason
                )  # Escape leaves any text field
                return True
        if (
            t in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease)
            and event.key() == Qt.Key.Key_Tab
            and self.isActiveWindow()
        ):
            from PySide6.QtWidgets import QAbstractSpinBox, QLineEdit, QPlainTextEdit

            focus = QApplication.focusWidget()
            if (
                not isinstance(focus, QLineEdit | QPlainTextEdit | QAbstractSpinBox)
                and not event.isAutoRepeat()
            ):
                self._show_original(t == QEvent.Type.KeyPress)
                return True
        return super().eventFilter(obj, event)

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_image(urls[0].toLocalFile())

    def closeEvent(self, event) -> None:  # noqa: N802
        if (
            self.ask_before_closing
            and not self._closing_ok
            and self.session.doc.unsaved
            and self.session.doc.photo is not None
        ):
            event.ignore()  # ask first; close again once the user has answered

            async def ask() -> None:
                from .files import CANCEL, DISCARD

                answer = await self.files.ask_unsaved("quitting")
                if answer == CANCEL or (
                    answer != DISCARD and not await self.files.save_interactive()
                ):
                    return
                self._closing_ok = True
                self._discard_on_close = answer == DISCARD
                self.close()

            self.spawn(ask())
            return
        self.layout_.save()
        self.settings["brush"] = self.brush.values()
        self.settings["last_provider"] = self.panel.provider_name()
        self.save_settings()
        QApplication.instance().removeEventFilter(self)
        super().closeEvent(event)
        self.windowClosed.emit()

    async def aclose(self) -> None:
        """Cancel jobs, keep or drop the recovery copy, close the HTTP client; call before the
        loop stops. After "Don't Save" the copy goes (unless a provider is still working on a
        paid task); after a close without the question it is kept for the next start."""
        self._elapsed_timer.stop()
        self.generator.preview_timer.stop()
        self._mask_timer.stop()
        self.autosaver.cancel()
        self.canvas.cancel_view()
        QApplication.instance().removeEventFilter(self)
        keep = None
        if self._closing_ok and getattr(self, "_discard_on_close", False):
            keep = self.session.has_remote_work
        await self.session.aclose(keep_recovery=keep)
        self.session.events.disconnect()  # the views go with the window; nothing may call them later
        self.session.undo.changed.disconnect()
        await self.client.aclose()
