"""Files: open (photos, projects, recent, paste, drop), save, export, import mask, and the
"save changes?" question that guards every action that would replace unsaved work.

Opening reads the file completely off the GUI thread first (``persist.load``); only when
that worked, and the user agreed to leave the current document, is it installed. A file that
fails leaves the document, its unsaved work and its recovery copy untouched.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMessageBox

from ..core.atomic import atomic_write
from ..core.document import persist
from ..core.document.session import EditSession
from ..core.errors import InpaintError
from ..core.formats.output import EXPORT_FORMATS, encode_export, export_suffix
from ..core.pixels.imaging import encode_mask, load_mask
from .pyramid import build_pyramid

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp *.gif *.heic);;All files (*)"
OPEN_FILTER = (
    "Photos and projects (*.inpaint *.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp *.gif *.heic);;"
    "Inpaint Studio project (*.inpaint);;All files (*)"
)
PROJECT_FILTER = "Inpaint Studio project (*.inpaint)"
#: a save shows its progress once it has taken this long, ms
SAVE_PROGRESS_AFTER_MS = 500
SAVE, DISCARD, CANCEL = "save", "discard", "cancel"


class FileActions:
    """File menu behaviour of a :class:`~inpaint_studio.ui.main_window.MainWindow`."""

    def __init__(self, window, session: EditSession) -> None:
        self.window, self.session = window, session
        self.pending_pyramid = None  # (rgb, pyramid) built before a document is installed

    # -- the question ---------------------------------------------------------------------------

    async def ask_unsaved(self, action: str) -> str:
        """Save / Don't Save / Cancel, as a window-modal ``QMessageBox`` awaited without a
        nested event loop. Returns :data:`SAVE`, :data:`DISCARD` or :data:`CANCEL`."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Unsaved changes",
            f"Save the changes to “{self.session.doc.display_name}” before {action}?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            self.window,
        )
        box.setObjectName("unsavedDialog")
        box.setInformativeText("If you don't save, your changes since the last save will be lost.")
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        box.button(QMessageBox.StandardButton.Discard).setText("Don't Save")
        done = asyncio.get_running_loop().create_future()
        box.finished.connect(
            lambda _: done.done() or done.set_result(box.standardButton(box.clickedButton()))
        )
        box.open()
        try:
            button = await done
        finally:
            box.deleteLater()
        return {
            QMessageBox.StandardButton.Save: SAVE,
            QMessageBox.StandardButton.Discard: DISCARD,
        }.get(button, CANCEL)

    async def may_leave(self, action: str) -> bool:
        """Whether the current document may be replaced or closed: asks when it has unsaved
        work; saving first when the user says so. False = leave everything as it is."""
        if not self.session.doc.unsaved or self.session.doc.photo is None:
            return True
        answer = await self.ask_unsaved(action)
        if answer == SAVE:
            return await self.save_interactive()
        return answer == DISCARD

    # -- opening -------------------------------------------------------------------------------

    def open(
        self, path: str | Path | None, data: bytes | None = None, *, ask: bool = True
    ) -> asyncio.Task:
        """Open a photo or an ``.inpaint`` project (or pasted ``data``); returns the task."""
        return self.window.spawn(self._open(Path(path) if path is not None else None, data, ask))

    async def _open(self, path: Path | None, data: bytes | None, ask: bool) -> bool:
        label = path.name if path else "pasted image"
        self.window.statusBar().showMessage(f"Opening {label}…")
        if not await self._replace(persist.load(path, data), f"opening {label}" if ask else None):
            return False
        if path is not None:
            self.add_recent(path)
        self.window.statusBar().showMessage(f"Opened {label}", 4000)
        return True

    async def restore(self, folder: Path) -> bool:
        """Restore one recovery folder (only that one is deleted, once restored)."""
        if not await self._replace(
            persist.load_recovery(folder, self.session.journal), "restoring the earlier session"
        ):
            return False
        self.window.statusBar().showMessage(f"Restored {self.session.doc.display_name}", 4000)
        return True

    async def _replace(self, loading, action: str | None) -> bool:
        """Await ``loading`` (a ``persist.load…`` coroutine) and build its display pyramid,
        then — if the user agrees to leave the current document (asked about ``action``
        when there is unsaved work) — install it. False: nothing changed."""
        try:
            loaded = await loading
            soft = loaded.state.mask_alpha if loaded.state is not None else None
            pyramid = await asyncio.to_thread(
                build_pyramid, loaded.photo.rgb, soft if soft is not None else loaded.mask
            )
        except InpaintError as exc:
            self.window.report_error(str(exc))
            return False
        if action is not None and not await self.may_leave(action):
            self.window.statusBar().showMessage("Nothing was opened; your work is as it was.", 4000)
            return False
        self.pending_pyramid = (loaded.photo.rgb, pyramid)
        await persist.install(self.session, loaded)
        return True

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open photo or project", "", OPEN_FILTER)
        if path:
            self.open(path)

    def paste(self) -> None:
        md = QGuiApplication.clipboard().mimeData()
        if md.hasUrls() and md.urls()[0].isLocalFile():
            self.open(md.urls()[0].toLocalFile())
            return
        img = QGuiApplication.clipboard().image()
        if img.isNull():
            self.window.report_error("The clipboard holds no image.")
            return
        from PySide6.QtCore import QBuffer, QIODevice

        buf = QBuffer()
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        img.save(buf, "BMP")  # uncompressed: cheap to write here, decoded off the GUI thread
        self.open(None, bytes(buf.data()))

    def add_recent(self, path: Path) -> None:
        s = self.window.settings
        recent = [p for p in s.get("recent", []) if p != str(path)]
        s["recent"] = [str(path)] + recent[:9]
        self.window.save_settings()
        self.update_recent_menu()

    def update_recent_menu(self) -> None:
        menu = self.window.recent_menu
        menu.clear()
        for p in self.window.settings.get("recent", []):
            if isinstance(p, str):
                menu.addAction(Path(p).name, lambda path=p: self.open(path)).setToolTip(p)

    # -- saving ----------------------------------------------------------------------------------

    def default_out(self, suffix: str) -> str:
        s = self.session
        folder = self.window.settings.get("output_folder") or (
            str(s.doc.photo_path.parent) if s.doc.photo_path else ""
        )
        stem = s.doc.photo_path.stem if s.doc.photo_path else "image"
        return str(Path(folder) / f"{stem}{suffix}") if folder else f"{stem}{suffix}"

    def save(self, path: str | Path | None = None) -> asyncio.Task | None:
        """Save to ``path`` (or the current project file, else ask where); returns the task."""
        if path is None and self.session.doc.project_path is None:
            return self.window.spawn(self.save_interactive())
        return self.window.spawn(self._save(Path(path) if path else self.session.doc.project_path))

    async def _save(self, target: Path) -> bool:
        if self.session.doc.photo is None:
            self.window.report_error("Open a photo before saving a project.")
            return False
        bar = self.window.save_progress
        progress = [0, 1]
        shown = QTimer(self.window, singleShot=True, interval=SAVE_PROGRESS_AFTER_MS)

        def show() -> None:  # only a save that takes a while shows its progress
            bar.setFormat(f"Saving {target.name} %p%")
            bar.show()
            bar.setRange(0, progress[1])
            bar.setValue(progress[0])

        def advance(done: int, total: int) -> None:
            progress[:] = [done, total]
            if bar.isVisible():
                bar.setRange(0, total)
                bar.setValue(done)

        shown.timeout.connect(show)
        shown.start()
        try:
            written = await self.session.save(target, advance)
        except OSError as exc:
            self.window.report_error(
                f"The project could not be saved ({exc.strerror or exc}); the last saved file is unchanged."
            )
            return False
        except InpaintError as exc:
            self.window.report_error(str(exc))
            return False
        finally:
            shown.stop()
            bar.hide()
        self.window.statusBar().showMessage(f"Saved {written}", 4000)
        self.add_recent(written)
        return True

    async def save_interactive(self, *, force_dialog: bool = False) -> bool:
        """Save to the project file, or ask for one first (Save As); False when cancelled."""
        if self.session.doc.photo is None:
            return False
        target = self.session.doc.project_path
        if target is None or force_dialog:
            start = str(target) if target else self.default_out(".inpaint")
            path = await self.ask_save_path("Save project", start, PROJECT_FILTER)
            if not path:
                return False
            target = Path(path)
        return await self._save(target)

    async def ask_save_path(self, title: str, start: str, filters: str) -> str | None:
        """A window-modal Save dialog awaited without a nested event loop (a static
        ``getSaveFileName`` inside a coroutine let qasync step a job's task while this one
        ran: "Cannot enter into task …", and the job never went on). None when cancelled."""
        dialog = QFileDialog(self.window, title, start, filters)
        dialog.setObjectName("saveDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        done = asyncio.get_running_loop().create_future()
        dialog.finished.connect(
            lambda result: (
                done.done()
                or done.set_result(
                    dialog.selectedFiles()[0] if result and dialog.selectedFiles() else None
                )
            )
        )
        dialog.open()
        try:
            return await done
        finally:
            dialog.deleteLater()

    # -- export and import -------------------------------------------------------------------------

    def export_composite(self, path: str | Path) -> asyncio.Task:
        """Write what is visible at full resolution, in the format of the suffix (PNG, JPEG,
        WebP, TIFF), keeping the source's EXIF, ICC profile and DPI and embedding the edit's
        parameters (:func:`~inpaint_studio.core.formats.output.encode_export`)."""
        path = Path(path)
        if path.suffix.lower() not in EXPORT_FORMATS:
            path = path.with_suffix(export_suffix(self.session.doc.photo))
        session, prefs = self.session, self.window.settings
        photo = session.doc.photo
        meta = session.doc.export_metadata(details=bool(prefs.get("embed_details", True)))
        strip_gps = bool(prefs.get("remove_location", False))

        def work() -> None:
            composite = session.doc.composite()
            data = encode_export(composite, photo, path.suffix, meta, remove_location=strip_gps)
            atomic_write(path, data)

        async def run() -> None:
            try:
                await asyncio.to_thread(work)
            except OSError as exc:
                self.window.report_error(f"Cannot write {path.name}: {exc.strerror or exc}.")
                return
            self.window.statusBar().showMessage(f"Exported {path}", 5000)

        return self.window.spawn(run())

    def export_dialog(self) -> None:
        if self.session.doc.photo is None:
            return
        suffix = export_suffix(self.session.doc.photo)
        filters = {".png": "PNG (*.png)", ".jpg": "JPEG (*.jpg *.jpeg)", ".webp": "WebP (*.webp)"}
        path, _ = QFileDialog.getSaveFileName(
            self.window,
            "Export composite",
            self.default_out(f"-edit{suffix}"),
            ";;".join(filters.values()),
            filters[suffix],
        )
        if path:
            self.export_composite(path)

    def export_layers(self, path: str | Path) -> asyncio.Task | None:
        """File ▸ Export layers: the original, the accepted edits and every variant as named
        layers (PSD, OpenRaster) or the visible composite (PNG) by the suffix
        (:mod:`~inpaint_studio.core.formats.layered`)."""
        from ..core.formats.layered import export_layers, stack_from_project

        state = persist.project_state(self.session)
        if state is None:
            return None
        path = Path(path)
        meta = self.session.doc.export_metadata(
            details=bool(self.window.settings.get("embed_details", True))
        )

        async def run() -> None:
            try:
                await asyncio.to_thread(
                    lambda: export_layers(path, *stack_from_project(state), meta)
                )
            except InpaintError as exc:  # already a sentence (a canvas too large for PSD)
                self.window.report_error(str(exc))
                return
            except (OSError, ValueError) as exc:
                reason = str(getattr(exc, "strerror", None) or exc).rstrip(".")
                self.window.report_error(f"Cannot write {path.name}: {reason}.")
                return
            self.window.statusBar().showMessage(f"Exported layers to {path}", 5000)

        return self.window.spawn(run())

    def export_layers_dialog(self) -> None:
        if self.session.doc.photo is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self.window,
            "Export layers",
            self.default_out("-layers.psd"),
            "Photoshop, Krita, GIMP (*.psd);;OpenRaster: Krita, MyPaint (*.ora);;Flat PNG (*.png)",
        )
        if path:
            self.export_layers(path)

    def export_mask(self, path: str | Path) -> asyncio.Task:
        mask = self.session.doc.mask.copy()
        return self.window.spawn(
            asyncio.to_thread(atomic_write, Path(path), encode_mask(mask, edit_is_black=True))
        )

    def export_mask_dialog(self) -> None:
        if self.session.doc.mask is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export mask (black = edit)", self.default_out("-mask.png"), "PNG (*.png)"
        )
        if path:
            self.export_mask(path)

    def import_mask(self, path: str | Path) -> asyncio.Task | None:
        if self.session.doc.photo is None:
            return None

        async def run() -> None:
            try:
                new = await asyncio.to_thread(load_mask, Path(path), self.session.doc.photo.size)
            except InpaintError as exc:
                self.window.report_error(str(exc))
                return
            await self.session.replace_mask(new, "Import mask")

        return self.window.spawn(run())

    def import_mask_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Import mask (black = edit)", "", IMAGE_FILTER
        )
        if path:
            self.import_mask(path)
