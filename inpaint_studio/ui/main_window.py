"""The main window: canvas, Generate / Layers / Jobs docks, menus, undo, jobs and export.

Heavy pixel work (decode, pyramid, prepare, layer conversion, compositing, encoding) runs
in ``asyncio.to_thread``; the GUI thread only wraps finished numpy arrays in ``QImage``s.
Jobs run on the core's :class:`~inpaint_studio.core.jobs.JobRunner`, which owns its tasks.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QEvent, QObject, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QColor,
    QGuiApplication,
    QIcon,
    QImage,
    QKeySequence,
    QPixmap,
    QUndoCommand,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QApplication,
    QColorDialog,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidgetItem,
    QMainWindow,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ..core import settings as cfg
from ..core.composite import blend_into
from ..core.errors import InpaintError, Problem, ValidationError
from ..core.imaging import Photo, encode_mask, load_image, load_mask
from ..core.jobs import Job, JobRunner, Variant, prepare
from ..core.maskedit import MaskPatch, grow, magic_wand
from ..core.output import atomic_write, encode_png
from ..core.protocol import Stage
from ..core.request import EditRequest, RenderingSpeed, check
from ..providers import PROVIDER_CLASSES, create_provider, default_provider, has_key
from ..providers.base import make_client
from .canvas import Canvas, LayerView, build_pyramid, layer_rgba, thumbnail
from .document import DocumentMixin, RecoveryBanner
from .history import HistoryPanel
from .panels import GeneratePanel, JobRow, LayersPanel, describe_stage

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp *.gif *.heic);;All files (*)"
OPEN_FILTER = "Photos and projects (*.inpaint *.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp *.gif *.heic);;Inpaint Studio project (*.inpaint);;All files (*)"


class MaskCommand(QUndoCommand):
    """One mask edit (a stroke, a fill, invert…), stored as a changed rectangle."""

    def __init__(self, window: MainWindow, patch: MaskPatch, text: str, applied: bool = True) -> None:
        super().__init__(text)
        self.window, self.patch, self._skip = window, patch, applied

    def redo(self) -> None:
        if self._skip:
            self._skip = False
            return
        self.window.canvas.apply_patch(self.patch, undo=False)

    def undo(self) -> None:
        self.window.canvas.apply_patch(self.patch, undo=True)


class AcceptCommand(QUndoCommand):
    """Baking a variant into the working image (box patches of the image, not copies)."""

    def __init__(self, window: MainWindow, box, before: np.ndarray, after: np.ndarray, layer_key) -> None:
        super().__init__("Accept variant")
        self.window, self.box, self.before, self.after, self.layer_key = window, box, before, after, layer_key

    def redo(self) -> None:
        self.window._write_rgb(self.box, self.after)
        self.window.accepted.append((self.box, self.after))
        self.window.mark_dirty()

    def undo(self) -> None:
        self.window._write_rgb(self.box, self.before)
        if self.window.accepted and self.window.accepted[-1][1] is self.after:
            self.window.accepted.pop()
        self.window.mark_dirty()


class PreferencesDialog(QDialog):
    """API keys (OS keyring), base URLs, defaults, output folder and mask colour."""

    def __init__(self, parent: MainWindow) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.setObjectName("preferencesDialog")
        s = cfg.load_settings()
        form = QFormLayout(self)
        self.keys: dict[str, QLineEdit] = {}
        self.urls: dict[str, QLineEdit] = {}
        for name, cls in PROVIDER_CLASSES.items():
            if not cls.capabilities.needs_key:
                continue
            key = QLineEdit(echoMode=QLineEdit.EchoMode.Password, objectName=f"key_{name}")
            key.setPlaceholderText("stored in the system keyring" if has_key(name) else "not set")
            self.keys[name] = key
            form.addRow(f"{cls.label} API key", key)
            url = QLineEdit(s.get("base_urls", {}).get(name, ""), objectName=f"url_{name}")
            url.setPlaceholderText(cls.default_base_url)
            self.urls[name] = url
            form.addRow(f"{cls.label} base URL", url)
        self.out_dir = QLineEdit(s.get("output_folder", ""), placeholderText="beside the photo")
        form.addRow("Output folder", self.out_dir)
        from PySide6.QtWidgets import QComboBox, QPushButton, QSpinBox

        self.default_provider = QComboBox(objectName="prefDefaultProvider")
        for name, cls in PROVIDER_CLASSES.items():
            self.default_provider.addItem(cls.label, name)
        self.default_provider.setCurrentIndex(max(0, self.default_provider.findData(s.get("default_provider", default_provider()))))
        form.addRow("Default provider", self.default_provider)
        self.default_speed = QComboBox(objectName="prefDefaultSpeed")
        self.default_speed.addItems([sp.value for sp in RenderingSpeed])
        self.default_speed.setCurrentText(s.get("default_speed", RenderingSpeed.DEFAULT.value))
        form.addRow("Default speed", self.default_speed)
        self.default_images = QSpinBox(minimum=1, maximum=8, value=int(s.get("default_num_images", 2)), objectName="prefDefaultImages")
        form.addRow("Default number of images", self.default_images)
        self.mask_colour = QColor(s.get("mask_colour", "#82ff285a"))
        self.mask_colour_button = QPushButton("Choose…", objectName="prefMaskColour")
        self.mask_colour_button.clicked.connect(self._pick_colour)
        form.addRow("Mask colour", self.mask_colour_button)
        self.message = QLabel(wordWrap=True)
        form.addRow(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _pick_colour(self) -> None:
        c = QColorDialog.getColor(self.mask_colour, self, "Mask colour", QColorDialog.ColorDialogOption.ShowAlphaChannel)
        if c.isValid():
            self.mask_colour = c

    def save(self) -> None:
        s = cfg.load_settings()
        urls = s.setdefault("base_urls", {})
        for name, edit in self.urls.items():
            if edit.text().strip():
                urls[name] = edit.text().strip()
            else:
                urls.pop(name, None)
        s["output_folder"] = self.out_dir.text().strip()
        s["default_provider"] = self.default_provider.currentData()
        s["default_speed"] = self.default_speed.currentText()
        s["default_num_images"] = self.default_images.value()
        s["mask_colour"] = self.mask_colour.name(QColor.NameFormat.HexArgb)
        for name, edit in self.keys.items():
            if edit.text().strip():
                try:
                    cfg.set_api_key(name, edit.text().strip())
                except RuntimeError as exc:
                    self.message.setText(str(exc))
                    return
        cfg.save_settings(s)
        self.accept()


class MainWindow(DocumentMixin, QMainWindow):
    """Inpaint Studio's main window. Construct inside a running QApplication with the qasync loop."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Inpaint Studio")
        self.setObjectName("mainWindow")
        self.resize(1400, 900)
        self.settings = cfg.load_settings()
        self.photo: Photo | None = None
        self.photo_path: Path | None = None
        self.client = make_client()
        from ..core.journal import default_journal

        self.session = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        self.journal = default_journal(self.session)
        self.runner = JobRunner(self.client, listener=self._on_job, journal=self.journal)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(200)
        self._tasks: set[asyncio.Task] = set()
        self._job_rows: dict[int, tuple[QListWidgetItem, JobRow]] = {}
        self._layer_info: dict[int, tuple[Job, Variant]] = {}
        self._layer_items: dict[int, QListWidgetItem] = {}
        self._latest_job_layers: list[int] = []
        self._draft_of: dict[int, str] = {}
        self._recorded_jobs: set[int] = set()
        self._preview_gen = 0
        self.last_error = ""

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
        self.panel = GeneratePanel()
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(self.panel)
        self.layers_panel = LayersPanel()
        self.history_panel = HistoryPanel()
        from PySide6.QtWidgets import QListWidget

        self.jobs_list = QListWidget(objectName="jobsList")
        self.docks = {}
        for name, title, widget, area in (
            ("generateDock", "Generate", scroll, Qt.DockWidgetArea.RightDockWidgetArea),
            ("layersDock", "Layers", self.layers_panel, Qt.DockWidgetArea.RightDockWidgetArea),
            ("jobsDock", "Jobs", self.jobs_list, Qt.DockWidgetArea.BottomDockWidgetArea),
            ("historyDock", "History", self.history_panel, Qt.DockWidgetArea.BottomDockWidgetArea),
        ):
            dock = QDockWidget(title, self, objectName=name)
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            self.docks[name] = dock
        self.splitDockWidget(self.docks["generateDock"], self.docks["layersDock"], Qt.Orientation.Vertical)
        self.tabifyDockWidget(self.docks["jobsDock"], self.docks["historyDock"])
        self.docks["jobsDock"].raise_()
        # status bar
        self.zoom_label = QLabel(objectName="zoomLabel")
        self.size_label = QLabel(objectName="sizeLabel")
        self.cursor_label = QLabel(objectName="cursorLabel")
        self.coverage_label = QLabel(objectName="coverageLabel")
        for w in (self.cursor_label, self.size_label, self.coverage_label, self.zoom_label):
            self.statusBar().addPermanentWidget(w)
        self.brush_slider = QSlider(Qt.Orientation.Horizontal, objectName="brushSlider", minimum=1, maximum=1000, value=20)
        self.brush_slider.setFixedWidth(140)
        self.brush_slider.setToolTip("Brush size ([ and ], Shift for ×10)")
        self._preview_timer = QTimer(self, singleShot=True, interval=350, timeout=self._schedule_preview)
        self._elapsed_timer = QTimer(self, interval=500, timeout=self._tick_jobs)
        self._build_actions()
        self._connect()
        self._refresh_providers()
        self._restore_layout()
        self._elapsed_timer.start()
        QApplication.instance().installEventFilter(self)
        self._init_document()
        self._validate()
        # the first job row pays Qt's one-time style and font set-up (~40 ms): pay it now,
        # not in the middle of the first Generate
        JobRow(0).deleteLater()

    # -- setup ------------------------------------------------------------------------------

    def _act(self, text: str, slot, shortcut=None, menu=None, checkable=False, name=None) -> QAction:
        a = QAction(text, self, checkable=checkable)
        if shortcut:
            a.setShortcuts([QKeySequence(s) for s in shortcut] if isinstance(shortcut, list | tuple) else [QKeySequence(shortcut)])
        if name:
            a.setObjectName(name)
        a.triggered.connect(slot)
        if menu is not None:
            menu.addAction(a)
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._act("&Open…", self._open_dialog, QKeySequence.StandardKey.Open, f)
        self._act("&Save project", lambda: self.save_project(), QKeySequence.StandardKey.Save, f)
        self._act("Save project &as…", self._save_as_dialog, QKeySequence("Ctrl+Shift+S"), f)
        self.recent_menu = f.addMenu("Open &Recent")
        self._act("&Paste image", self._paste, QKeySequence.StandardKey.Paste, f)
        f.addSeparator()
        self._act("&Export composite…", self._export_dialog, "Ctrl+E", f)
        self._act("Export &mask…", self._export_mask_dialog, "Ctrl+Shift+E", f)
        self._act("&Import mask…", self._import_mask_dialog, None, f)
        f.addSeparator()
        self._act("Result &journal…", self.show_journal, None, f)
        self._act("&Preferences…", self._preferences, QKeySequence.StandardKey.Preferences, f)
        self._act("&Quit", self.close, QKeySequence.StandardKey.Quit, f)
        e = mb.addMenu("&Edit")
        undo = self.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcuts([QKeySequence("Ctrl+Z")])
        redo = self.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        e.addAction(undo)
        e.addAction(redo)
        self.addAction(undo)
        self.addAction(redo)
        e.addSeparator()
        self._act("&Invert mask", self.invert_mask, "Ctrl+I", e)
        self._act("&Clear mask", self.clear_mask, "Delete", e)
        self._act("&Grow mask…", lambda: self._grow_dialog(1), None, e)
        self._act("&Shrink mask…", lambda: self._grow_dialog(-1), None, e)
        t = mb.addMenu("&Tools")
        self.tool_group = QActionGroup(self)
        self.tool_actions = {}
        for tool, label, key in (("brush", "&Brush", "B"), ("eraser", "&Eraser", "E"), ("rect", "&Rectangle", "R"),
                                 ("lasso", "&Lasso / polygon", "L"), ("wand", "Magic &wand", "W")):
            a = self._act(label, lambda _=False, tl=tool: self.set_tool(tl), key, t, checkable=True, name=f"tool_{tool}")
            self.tool_group.addAction(a)
            self.tool_actions[tool] = a
        self.tool_actions["brush"].setChecked(True)
        t.addSeparator()
        self._act("Smaller brush", lambda: self._brush_step(-1, 1), "[", t)
        self._act("Larger brush", lambda: self._brush_step(1, 1), "]", t)
        self._act("Much smaller brush", lambda: self._brush_step(-1, 10), "Shift+[", None)
        self._act("Much larger brush", lambda: self._brush_step(1, 10), "Shift+]", None)
        self._act("Wand tolerance…", self._tolerance_dialog, None, t)
        self.wand_tolerance = 24
        v = mb.addMenu("&View")
        for dock in self.docks.values():
            v.addAction(dock.toggleViewAction())
        v.addSeparator()
        self._act("Zoom &in", lambda: self.canvas.set_zoom(self.canvas.zoom * 1.25), ["Ctrl+=", "Ctrl++"], v)
        self._act("Zoom &out", lambda: self.canvas.set_zoom(self.canvas.zoom / 1.25), "Ctrl+-", v)
        self._act("&Fit", self.canvas.fit, "Ctrl+0", v)
        self._act("&100 %", lambda: self.canvas.set_zoom(1.0), "Ctrl+1", v)
        self.overlay_action = self._act("&Mask overlay", self._toggle_overlay, "M", v, checkable=True)
        self.overlay_action.setChecked(True)
        self._act("Mask &colour…", self._pick_mask_colour, None, v)
        for i in range(1, 9):
            self._act(f"Variant {i}", lambda _=False, n=i: self.show_variant(n), str(i), None)
        self._act("Accept variant", self.accept_variant, ["Return", "Enter"], None)
        tb = self.addToolBar("Tools")
        tb.setObjectName("toolsToolbar")
        for a in self.tool_actions.values():
            tb.addAction(a)
        tb.addWidget(QLabel(" Size "))
        tb.addWidget(self.brush_slider)
        self._update_recent_menu()

    def _connect(self) -> None:
        c = self.canvas
        c.mask_edited.connect(lambda patch: self.undo_stack.push(MaskCommand(self, patch, "Mask edit")))
        # whole-mask work (coverage, validation, preview, autosave) once a stroke pauses, not per segment
        self._mask_timer = QTimer(self, singleShot=True, interval=120, timeout=self._on_mask_changed)
        c.mask_changed.connect(self._mask_timer.start)
        c.cursor_moved.connect(lambda x, y: self.cursor_label.setText(f"{x}, {y}" if x >= 0 and y >= 0 else ""))
        c.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        c.wand_requested.connect(self._wand)
        self.brush_slider.valueChanged.connect(lambda v: self.canvas.set_brush_radius(v / 2))
        self.canvas.set_brush_radius(self.brush_slider.value() / 2)
        self.panel.changed.connect(self._validate)
        self.panel.changed.connect(self._preview_timer.start)
        self.panel.changed.connect(lambda: self.mark_dirty())
        self.panel.provider_changed.connect(self._provider_changed)
        self.panel.generate_requested.connect(self.generate)
        lp = self.layers_panel
        lp.list.currentRowChanged.connect(self._layer_selected)
        lp.list.itemChanged.connect(self._layer_item_changed)
        lp.accept_requested.connect(self.accept_variant)
        lp.discard_requested.connect(self.discard_variant)
        lp.quality_requested.connect(self.render_at_quality)
        lp.opacity_changed.connect(self._set_opacity)
        lp.reblend_requested.connect(lambda f, c: self.reblend(f, c))
        lp.original_button.toggled.connect(self._show_original)

    # -- tasks --------------------------------------------------------------------------------

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_event_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            self.report_error(str(exc) if isinstance(exc, InpaintError) else f"Unexpected error: {exc}")

    def report_error(self, message: str) -> None:
        """Show a failure in the status bar (never a blocking dialog)."""
        self.last_error = message
        self.statusBar().showMessage(message, 15000)

    async def aclose(self) -> None:
        """Cancel jobs and close the HTTP client; call before the loop stops."""
        self._elapsed_timer.stop()
        self._preview_timer.stop()
        active_remote = any(j.is_active and j.prepared and j.prepared.remote_tasks for j in self.runner.jobs.values())
        if self.unsaved or active_remote:
            self._autosave_timer.stop()
            await self.save_recovery()  # kept: the next start offers to restore it
        elif self.recovery is not None:
            self.recovery.discard()
        await self.runner.aclose()
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        await self.client.aclose()

    # -- opening ------------------------------------------------------------------------------

    def open_image(self, path: str | Path) -> asyncio.Task:
        """Open a photo or an ``.inpaint`` project (decoded off the GUI thread); returns the task."""
        if Path(path).suffix.lower() == ".inpaint":
            return self.open_project(path)
        return self._spawn(self._open(Path(path)))

    async def _open(self, path: Path | None, data: bytes | None = None) -> None:
        self.statusBar().showMessage(f"Opening {path.name if path else 'pasted image'}…")
        try:
            photo = await asyncio.to_thread(load_image, data if data is not None else path, keep_source=True)
        except InpaintError as exc:
            self.report_error(str(exc))
            return
        mask = np.zeros(photo.rgb.shape[:2], bool)
        pyramid = await asyncio.to_thread(build_pyramid, photo.rgb, mask)
        self._new_document()
        self.photo, self.photo_path = photo, path
        self.undo_stack.clear()
        self._clear_layers()
        self.canvas.set_photo(photo.rgb, mask, pyramid)
        w, h = photo.size
        self.size_label.setText(f"{w} × {h}")
        self.setWindowTitle(f"{path.name if path else 'Pasted image'} — Inpaint Studio")
        self.statusBar().showMessage(f"Opened {path.name if path else 'pasted image'}", 4000)
        if path is not None:
            self._add_recent(path)
        self._on_mask_changed()
        self.schedule_save_now()  # the photo is in the recovery copy within moments, after the first paint

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open photo or project", "", OPEN_FILTER)
        if path:
            self.open_image(path)

    def _paste(self) -> None:
        md = QGuiApplication.clipboard().mimeData()
        if md.hasUrls() and md.urls()[0].isLocalFile():
            self.open_image(md.urls()[0].toLocalFile())
            return
        img = QGuiApplication.clipboard().image()
        if img.isNull():
            self.report_error("The clipboard holds no image.")
            return
        from PySide6.QtCore import QBuffer, QIODevice

        buf = QBuffer()
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        img.save(buf, "BMP")  # uncompressed: cheap to write here, decoded off the GUI thread
        self._spawn(self._open(None, bytes(buf.data())))

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_image(urls[0].toLocalFile())

    def _add_recent(self, path: Path) -> None:
        recent = [p for p in self.settings.get("recent", []) if p != str(path)]
        self.settings["recent"] = [str(path)] + recent[:9]
        self._save_settings()
        self._update_recent_menu()

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        for p in self.settings.get("recent", []):
            self.recent_menu.addAction(Path(p).name, lambda path=p: self.open_image(path)).setToolTip(p)

    # -- mask operations ----------------------------------------------------------------------

    def set_tool(self, tool: str) -> None:
        self.canvas.set_tool(tool)
        self.tool_actions[tool].setChecked(True)

    def _brush_step(self, direction: int, factor: int) -> None:
        self.brush_slider.setValue(max(1, min(1000, self.brush_slider.value() + direction * factor * 2)))

    def _tolerance_dialog(self) -> None:
        v, ok = QInputDialog.getInt(self, "Magic wand", "Tolerance (0–255)", self.wand_tolerance, 0, 255)
        if ok:
            self.wand_tolerance = v

    def _whole_mask_edit(self, fn, text: str) -> asyncio.Task | None:
        """Run ``fn(mask_copy)`` off the GUI thread, then apply it as one undoable change."""
        if self.canvas.mask is None:
            return None

        async def run() -> None:
            before = self.canvas.mask.copy()
            after = before.copy()
            rect = await asyncio.to_thread(fn, after)
            if rect is None:
                return
            x0, y0, x1, y1 = rect
            patch = await asyncio.to_thread(MaskPatch.capture, before[y0:y1, x0:x1], after[y0:y1, x0:x1], rect)
            if patch.changed:
                self.canvas.mask[y0:y1, x0:x1] = after[y0:y1, x0:x1]
                self.canvas.refresh_mask(rect)
                self.undo_stack.push(MaskCommand(self, patch, text))

        return self._spawn(run())

    def invert_mask(self) -> asyncio.Task | None:
        def inv(m: np.ndarray):
            np.logical_not(m, out=m)
            return (0, 0, m.shape[1], m.shape[0])

        return self._whole_mask_edit(inv, "Invert mask")

    def clear_mask(self) -> asyncio.Task | None:
        from ..core.imaging import mask_bbox

        def clear(m: np.ndarray):
            box = mask_bbox(m)
            if box is not None:
                m[box[1] : box[3], box[0] : box[2]] = False
            return box

        return self._whole_mask_edit(clear, "Clear mask")

    def grow_mask(self, pixels: int) -> asyncio.Task | None:
        return self._whole_mask_edit(lambda m: grow(m, pixels), "Grow mask" if pixels > 0 else "Shrink mask")

    def _grow_dialog(self, sign: int) -> None:
        n, ok = QInputDialog.getInt(self, "Grow mask" if sign > 0 else "Shrink mask", "Pixels", 8, 1, 500)
        if ok:
            self.grow_mask(sign * n)

    def _wand(self, x: int, y: int, add: bool) -> None:
        rgb = self.canvas.rgb
        self._whole_mask_edit(lambda m: magic_wand(rgb, m, (x, y), self.wand_tolerance, add), "Magic wand")

    def _toggle_overlay(self) -> None:
        self.canvas.overlay_visible = self.overlay_action.isChecked()
        self.canvas.update()

    def _pick_mask_colour(self) -> None:
        c = QColorDialog.getColor(self.canvas.overlay_color, self, "Mask colour", QColorDialog.ColorDialogOption.ShowAlphaChannel)
        if c.isValid():
            self.canvas.set_overlay_color(c)
            self.settings["mask_colour"] = c.name(QColor.NameFormat.HexArgb)
            self._save_settings()

    def _on_mask_changed(self) -> None:
        m = self.canvas.mask
        if m is not None:
            # a count over the whole mask is ~2 ms on 20 MP; done once per change
            self.coverage_label.setText(f"mask {np.count_nonzero(m) * 100 / m.size:.1f} %")
        self._validate()
        self._preview_timer.start()
        self.mark_dirty()

    # -- request, validation, preview -----------------------------------------------------

    def provider(self):
        """A provider object for the panel's choice (cheap: no network until a job runs)."""
        name = self.panel.provider_name()
        options: dict = {}
        if name == "cometapi":
            options["model"] = self.panel.model_combo.currentData()
        return create_provider(name, self.client, **options)

    def build_request(self, *, snapshot: bool = True) -> EditRequest | None:
        if self.photo is None or self.canvas.mask is None:
            return None
        mask = self.canvas.mask.copy() if snapshot else self.canvas.mask
        photo = self.photo
        return EditRequest(photo=photo, mask=mask, **self.panel.values())

    def _validate(self) -> list[Problem]:
        if self.photo is None:
            problems = [Problem("photo", "Open a photo first.")]
        else:
            req = self.build_request(snapshot=False)
            cls = self.provider()
            try:
                check(req, cls.capabilities, cls.label)
                problems = []
            except ValidationError as exc:
                problems = exc.problems
            if not problems and cls.capabilities.needs_key and not has_key(self.panel.provider_name()):
                problems = [Problem("provider", f"No {cls.label} API key is set; add it in Preferences.")]
        self.panel.show_problems(problems)
        return problems

    def _schedule_preview(self) -> None:
        if self.photo is None or self.canvas.mask is None or not self.canvas.mask.any():
            self.canvas.context_box = None
            self.panel.sent_label.setText("")
            self.canvas.update()
            return
        self._preview_gen += 1
        self._spawn(self._preview(self._preview_gen))

    def _prepared_key(self, request: EditRequest, uploads: bool) -> tuple:
        """What a prepared upload depends on: mask, working image, context, provider kind."""
        return (self.canvas.mask_version, id(request.photo.rgb), request.context, uploads)

    async def _preview(self, gen: int) -> None:
        req = self.build_request()
        cls = self.provider()
        key = self._prepared_key(req, cls.capabilities.uploads)
        def work():
            prepared = prepare(req, uploads=cls.capabilities.uploads)
            mask_bytes = len(encode_mask(prepared.upload_mask)) if prepared.upload_mask is not None else 0
            return prepared, mask_bytes

        try:
            prepared, mask_bytes = await asyncio.to_thread(work)
        except InpaintError:
            return
        if gen != self._preview_gen:
            return
        self._preview_prepared = (key, prepared)  # Generate reuses it rather than encoding again
        r = prepared.region
        self.canvas.context_box = (r.x0, r.y0, r.x1, r.y1)
        self.canvas.update()
        lines = [f"Region {r.width}×{r.height} px ({r.mode.value})"]
        if prepared.encoded is not None:
            enc = prepared.encoded
            lines.append(f"image {enc.width}×{enc.height} {enc.format} {len(enc.data) / 1e6:.2f} MB")
            lines.append(f"mask {enc.width}×{enc.height} PNG {mask_bytes / 1e3:.0f} kB")
            for ref in req.style_references + req.character_references:
                lines.append(f"{ref.name} {len(ref.data) / 1e6:.2f} MB")
            lines.append(f"{req.num_images} image{'s' if req.num_images > 1 else ''} billed")
        else:
            lines.append("nothing leaves this computer")
        self.panel.sent_label.setText("What will be sent: " + "; ".join(lines))

    # -- providers ------------------------------------------------------------------------------

    def _refresh_providers(self) -> None:
        entries = [(n, c.label, has_key(n)) for n, c in PROVIDER_CLASSES.items()]
        entries.sort(key=lambda e: (not (e[2] and PROVIDER_CLASSES[e[0]].capabilities.needs_key), e[0] != "local"))
        current = self.settings.get("last_provider") or self.settings.get("default_provider") or default_provider()
        if current not in PROVIDER_CLASSES:
            current = "local"
        self.panel.set_providers(entries, current)
        self._provider_changed(self.panel.provider_name())

    def _provider_changed(self, name: str) -> None:
        self.panel.model_combo.setVisible(name == "cometapi")
        self.panel.model_label.setVisible(name == "cometapi")
        self.panel.apply_capabilities(self.provider().capabilities, has_key(name))
        self._validate()

    def _preferences(self) -> None:
        dlg = PreferencesDialog(self)
        if dlg.exec():
            self.settings = cfg.load_settings()
            self._refresh_providers()
            self._apply_defaults()
            if self.settings.get("mask_colour"):
                self.canvas.set_overlay_color(QColor(self.settings["mask_colour"]))

    # -- jobs ---------------------------------------------------------------------------------------

    def generate(self, *, request: EditRequest | None = None, draft_label: str | None = None) -> Job | None:
        """Submit a job from the panel (or ``request``); returns at once."""
        from_panel = request is None
        if from_panel:
            if self._validate():
                return None
            request = self.build_request()
        provider = self.provider()
        cached = getattr(self, "_preview_prepared", None)
        prepared = None
        # only a request built from the canvas's current mask may reuse the preview's upload
        if from_panel and cached is not None and cached[0] == self._prepared_key(request, provider.capabilities.uploads):
            prepared = replace(cached[1], remote_tasks=[])  # one list of remote tasks per job
        try:
            job = self.runner.submit(request, provider, prepared)
        except InpaintError as exc:
            self.report_error(str(exc))
            return None
        if draft_label:
            self._draft_of[job.id] = draft_label
        self.history[job.id] = job
        self._add_job_row(job)
        self.unsaved = True
        return job

    def _add_job_row(self, job: Job) -> None:
        row = JobRow(job.id)
        row.cancel_requested.connect(lambda jid: self.runner.cancel(self.runner.jobs[jid]))
        row.copy_requested.connect(self._copy_job_details)
        item = QListWidgetItem()
        self.jobs_list.insertItem(0, item)
        self.jobs_list.setItemWidget(item, row)
        self._job_rows[job.id] = (item, row)
        self._update_job_row(job)
        self._history_entry(job)

    def _update_job_row(self, job: Job) -> None:
        entry = self._job_rows.get(job.id)
        if entry is None:
            return
        item, row = entry
        text = (f"#{job.id} {job.provider.label} · {job.request.rendering_speed.value} · "
                f"{describe_stage(job)} · {job.elapsed:.1f} s")
        if self._draft_of.get(job.id):
            text += f" · final of {self._draft_of[job.id]}"
        if job.error is not None and job.stage == Stage.FAILED:
            text += f"\n{job.error}"
        row.label.setText(text)
        row.cancel.setVisible(job.is_active)
        row.copy.setVisible(job.stage == Stage.FAILED)
        item.setSizeHint(row.sizeHint())

    def _tick_jobs(self) -> None:
        for job in self.runner.jobs.values():
            if job.is_active:
                self._update_job_row(job)

    def _on_job(self, job: Job) -> None:
        self._update_job_row(job)
        if job.stage in (Stage.UPLOADING, Stage.WAITING) and job.id not in self._recorded_jobs:
            # the job, its parameters and its region are on disk before any answer can arrive;
            # saved once its own pixel work is done, so the two never compete for the CPU
            self._recorded_jobs.add(job.id)
            self.schedule_save_now()
        if job.stage in (Stage.DONE, Stage.FAILED, Stage.CANCELLED, Stage.WAITING) and job.id in self.history:
            self._history_entry(job)
            if job.stage == Stage.WAITING:
                self.mark_dirty()  # remote task ids are known now
        if job.stage == Stage.FAILED and job.error is not None:
            self.report_error(str(job.error))
        if job.stage in (Stage.DONE, Stage.FAILED) and job.variants:
            self._spawn(self._add_variants(job))

    def _copy_job_details(self, job_id: int) -> None:
        job = self.runner.jobs[job_id]
        err = job.error
        text = f"{err}\n{getattr(err, 'details', '')}\nprovider: {job.provider.name}\nparameters: {job.request.parameters()}\nsent: {job.sent}"
        QGuiApplication.clipboard().setText(text)

    async def _add_variants(self, job: Job) -> None:
        """Show a finished job's variants; the recovery copy is saved with them first."""
        keys = [f"j{job.id}-{v.index}" for v in job.variants]
        for key, v in zip(keys, job.variants, strict=True):
            self._layer_info[key] = (job, v)
        self.history[job.id] = job
        await self.save_recovery()  # a crash from here on loses none of these results
        self._latest_job_layers = []
        short = job.request.prompt.strip()[:24] or "offline fill"
        for key, v in zip(keys, job.variants, strict=True):
            name = f"{short} · {v.seed} · {job.request.rendering_speed.value}"
            if self._draft_of.get(job.id):
                name += f" · final of {self._draft_of[job.id]}"
            # hidden until show_variant picks one: no repaint of N layers while they arrive
            await self._show_variant_layer(job, v, name, key=key, visible=False)
            if v.layer is not None:
                self._latest_job_layers.append(key)
        self._history_entry(job)
        if self._latest_job_layers:
            self.show_variant(1)
            seeds = [v.seed for v in job.variants if v.seed is not None]
            self.panel.show_last_seed(seeds[0] if seeds else None)
            self.docks["layersDock"].show()

    async def _show_variant_layer(self, job: Job, v: Variant, name: str, *, key: str, visible: bool = True,
                                  opacity: float = 1.0) -> None:
        """Add one variant as a layer (or a "withheld" row) to the canvas and the Layers list."""
        def convert():
            if v.layer is None:
                return None, None
            rgba = layer_rgba(v.layer)
            return rgba, thumbnail(rgba, 48)

        rgba, thumb = await asyncio.to_thread(convert)
        item = QListWidgetItem()
        if rgba is None:
            item.setText(f"Variant {v.index + 1} withheld by the safety filter")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        else:
            lv = LayerView(key, v.layer.x0, v.layer.y0, rgba, visible, opacity)
            self.canvas.layers.append(lv)
            item.setText(name)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)
            item.setIcon(QIcon(QPixmap.fromImage(QImage(thumb.data, thumb.shape[1], thumb.shape[0], thumb.strides[0],
                                                          QImage.Format.Format_RGBA8888))))
            item.setData(Qt.ItemDataRole.UserRole + 1, thumb)  # keeps the pixels alive
        item.setData(Qt.ItemDataRole.UserRole, key)
        self._layer_info[key] = (job, v)
        self._layer_items[key] = item
        self.layers_panel.list.insertItem(0, item)
        self.canvas.update()

    # -- layers -------------------------------------------------------------------------------------

    def _view(self, key) -> LayerView | None:
        return next((lv for lv in self.canvas.layers if lv.key == key), None)

    def show_variant(self, n: int) -> None:
        """Show only variant ``n`` (1-based) of the latest job."""
        if not 1 <= n <= len(self._latest_job_layers):
            return
        chosen = self._latest_job_layers[n - 1]
        for key in self._latest_job_layers:
            lv = self._view(key)
            if lv is not None:
                lv.visible = key == chosen
                self._layer_items[key].setCheckState(Qt.CheckState.Checked if lv.visible else Qt.CheckState.Unchecked)
        self.layers_panel.list.setCurrentItem(self._layer_items[chosen])
        self.canvas.update()

    def selected_key(self):
        item = self.layers_panel.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _layer_selected(self, _row: int) -> None:
        lv = self._view(self.selected_key())
        if lv is not None:
            self.layers_panel.opacity.blockSignals(True)
            self.layers_panel.opacity.setValue(round(lv.opacity * 100))
            self.layers_panel.opacity.blockSignals(False)
        job_v = self._layer_info.get(self.selected_key())
        self.layers_panel.quality_button.setEnabled(
            bool(job_v) and job_v[0].request.rendering_speed in (RenderingSpeed.TURBO, RenderingSpeed.FLASH))

    def _layer_item_changed(self, item: QListWidgetItem) -> None:
        lv = self._view(item.data(Qt.ItemDataRole.UserRole))
        if lv is not None:
            lv.visible = item.checkState() == Qt.CheckState.Checked
            self.canvas.update()
            self.mark_dirty()

    def _set_opacity(self, value: float) -> None:
        lv = self._view(self.selected_key())
        if lv is not None:
            lv.opacity = value
            self.canvas.update()
            self.mark_dirty()

    def _show_original(self, on: bool) -> None:
        self.canvas.show_original = on
        self.canvas.update()

    def _remove_layer(self, key) -> None:
        self.canvas.layers = [lv for lv in self.canvas.layers if lv.key != key]
        item = self._layer_items.pop(key, None)
        if item is not None:
            self.layers_panel.list.takeItem(self.layers_panel.list.row(item))
        self._layer_info.pop(key, None)
        if key in self._latest_job_layers:
            self._latest_job_layers.remove(key)
        self.canvas.update()
        self.mark_dirty()

    def _clear_layers(self) -> None:
        for key in list(self._layer_items):
            self._remove_layer(key)

    def discard_variant(self) -> None:
        key = self.selected_key()
        if key is not None:
            self._remove_layer(key)

    def accept_variant(self) -> asyncio.Task | None:
        """Bake the selected variant into the working image (undoable)."""
        key = self.selected_key()
        info = self._layer_info.get(key)
        lv = self._view(key)
        if info is None or lv is None or self.photo is None:
            return None
        layer = info[1].layer

        async def run() -> None:
            x0, y0, x1, y1 = layer.box
            before = self.photo.rgb[y0:y1, x0:x1].copy()

            def bake() -> np.ndarray:
                patch = before.copy()
                shifted = type(layer)(0, 0, layer.rgb, layer.alpha)
                blend_into(patch, shifted, lv.opacity)
                return patch

            after = await asyncio.to_thread(bake)
            self._remove_layer(key)
            self.undo_stack.push(AcceptCommand(self, layer.box, before, after, key))

        return self._spawn(run())

    def _write_rgb(self, box, patch: np.ndarray) -> None:
        """Replace a box of the working image (a new array, so running jobs keep theirs).

        Runs on the GUI thread because undo commands are synchronous: one copy of the image
        (~20 ms on 18 MP) plus the pyramid inside the box.
        """
        x0, y0, x1, y1 = box
        rgb = self.photo.rgb.copy()
        rgb[y0:y1, x0:x1] = patch
        self.photo = replace(self.photo, rgb=rgb)
        self.canvas.set_rgb(rgb, box)
        self._preview_timer.start()

    def render_at_quality(self) -> Job | None:
        """Resubmit the selected TURBO/FLASH variant's request at QUALITY with its seed."""
        info = self._layer_info.get(self.selected_key())
        if info is None:
            return None
        job, v = info
        if job.request.rendering_speed not in (RenderingSpeed.TURBO, RenderingSpeed.FLASH):
            self.report_error("Render at QUALITY applies to TURBO or FLASH drafts.")
            return None
        req = replace(job.request, rendering_speed=RenderingSpeed.QUALITY, seed=v.seed, num_images=1)
        label = self._layer_items[self.selected_key()].text()
        return self.generate(request=req, draft_label=label)

    # -- export --------------------------------------------------------------------------------------

    def composite(self) -> np.ndarray:
        """The working image with the visible layers blended (call off the GUI thread)."""
        out = self.photo.rgb.copy()
        for lv in self.canvas.layers:
            if lv.visible:
                info = self._layer_info.get(lv.key)
                if info and info[1].layer is not None:
                    blend_into(out, info[1].layer, lv.opacity)
        return out

    def export_composite(self, path: str | Path) -> asyncio.Task:
        path = Path(path)

        async def run() -> None:
            def work() -> None:
                img = self.composite()
                ext = path.suffix.lower()
                if ext in (".jpg", ".jpeg", ".webp"):
                    import io

                    from PIL import Image

                    buf = io.BytesIO()
                    Image.fromarray(img).save(buf, "JPEG" if ext != ".webp" else "WEBP", quality=95,
                                              icc_profile=self.photo.icc_profile)
                    data = buf.getvalue()
                else:
                    data = encode_png(img, alpha=self.photo.alpha, icc=self.photo.icc_profile)
                atomic_write(path, data)

            try:
                await asyncio.to_thread(work)
            except OSError as exc:
                self.report_error(f"Cannot write {path.name}: {exc.strerror or exc}.")
                return
            self.statusBar().showMessage(f"Exported {path}", 5000)

        return self._spawn(run())

    def _default_out(self, suffix: str) -> str:
        folder = self.settings.get("output_folder") or (str(self.photo_path.parent) if self.photo_path else "")
        stem = self.photo_path.stem if self.photo_path else "image"
        return str(Path(folder) / f"{stem}{suffix}") if folder else f"{stem}{suffix}"

    def _export_dialog(self) -> None:
        if self.photo is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export composite", self._default_out("-edit.png"), "PNG (*.png);;JPEG (*.jpg);;WebP (*.webp)")
        if path:
            self.export_composite(path)

    def export_mask(self, path: str | Path) -> asyncio.Task:
        mask = self.canvas.mask.copy()
        return self._spawn(asyncio.to_thread(atomic_write, Path(path), encode_mask(mask, edit_is_black=True)))

    def _export_mask_dialog(self) -> None:
        if self.canvas.mask is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export mask (black = edit)", self._default_out("-mask.png"), "PNG (*.png)")
        if path:
            self.export_mask(path)

    def import_mask(self, path: str | Path) -> asyncio.Task | None:
        if self.photo is None:
            return None

        async def run() -> None:
            try:
                new = await asyncio.to_thread(load_mask, Path(path), self.photo.size)
            except InpaintError as exc:
                self.report_error(str(exc))
                return

            def replace_all(m: np.ndarray):
                m[...] = new
                return (0, 0, m.shape[1], m.shape[0])

            await self._whole_mask_edit(replace_all, "Import mask")

        return self._spawn(run())

    def _import_mask_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import mask (black = edit)", "", IMAGE_FILTER)
        if path:
            self.import_mask(path)

    # -- window state -----------------------------------------------------------------------------

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        t = event.type()
        if t in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and event.key() == Qt.Key.Key_Tab and self.isActiveWindow():
            focus = QApplication.focusWidget()
            from PySide6.QtWidgets import QAbstractSpinBox, QLineEdit, QPlainTextEdit

            if not isinstance(focus, QLineEdit | QPlainTextEdit | QAbstractSpinBox) and not event.isAutoRepeat():
                self._show_original(t == QEvent.Type.KeyPress)
                return True
        return super().eventFilter(obj, event)

    def _save_settings(self) -> None:
        try:
            cfg.save_settings(self.settings)
        except OSError as exc:
            self.report_error(f"Settings could not be saved: {exc.strerror or exc}.")

    def _apply_defaults(self) -> None:
        speed = self.settings.get("default_speed")
        if speed in RenderingSpeed.__members__ and self.panel.speed_buttons[RenderingSpeed(speed)].isVisibleTo(self.panel):
            self.panel.set_speed(RenderingSpeed(speed))
        if self.settings.get("default_num_images"):
            self.panel.num_images_spin.setValue(int(self.settings["default_num_images"]))

    def _restore_layout(self) -> None:
        self._apply_defaults()
        colour = self.settings.get("mask_colour")
        if colour:
            self.canvas.set_overlay_color(QColor(colour))
        geo, state = self.settings.get("window_geometry"), self.settings.get("window_state")
        if geo:
            self.restoreGeometry(QByteArray(base64.b64decode(geo)))
        if state:
            self.restoreState(QByteArray(base64.b64decode(state)))

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if not getattr(self, "_sized_docks", False) and not self.settings.get("window_state"):
            self._sized_docks = True  # default proportions; a saved layout replaces them
            QTimer.singleShot(0, self._default_dock_sizes)

    def _default_dock_sizes(self) -> None:
        self.resizeDocks([self.docks["jobsDock"], self.docks["historyDock"]], [120, 120], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["generateDock"]], [400], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["generateDock"], self.docks["layersDock"]],
                         [int(self.height() * 0.55), int(self.height() * 0.3)], Qt.Orientation.Vertical)

    def closeEvent(self, event) -> None:  # noqa: N802
        self.settings["window_geometry"] = base64.b64encode(bytes(self.saveGeometry())).decode()
        self.settings["window_state"] = base64.b64encode(bytes(self.saveState())).decode()
        self.settings["last_provider"] = self.panel.provider_name()
        self._save_settings()
        QApplication.instance().removeEventFilter(self)
        super().closeEvent(event)

