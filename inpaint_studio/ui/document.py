"""Nothing lost: project save/open, autosave to a recovery folder, restore after a crash,
the History dock, replay, re-blend and the result-journal dialog (a MainWindow mixin).

State is gathered on the GUI thread as cheap copies; encoding and file writes run in
``asyncio.to_thread``. Results are in the journal before they are shown (the runner writes
them), and the recovery folder is saved with every new result *before* it is shown, so a
``kill -9`` right after a result arrives loses nothing.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core.composite import build_layer
from ..core.context import Region
from ..core.errors import InpaintError
from ..core.jobs import Job, Variant, reserve_ids
from ..core.project import (
    JobRecord,
    ProjectState,
    RecoveryStore,
    VariantRecord,
    orphaned_recoveries,
    read_project,
    recovery_root,
    save_project,
)
from ..core.protocol import Prepared, Stage
from ..core.request import ContextMode, request_from_parameters
from ..providers import create_provider
from .canvas import build_pyramid

AUTOSAVE_DELAY_MS = 1500
_background = None


def background_executor():
    """One low-priority worker for autosaves, so they never compete with the GUI thread or a
    job's own pixel work for the CPU (Linux: nice 10 for that thread; elsewhere a plain thread)."""
    global _background
    if _background is None:
        from concurrent.futures import ThreadPoolExecutor

        def lower_priority() -> None:
            import threading

            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
            except (AttributeError, OSError):
                pass

        _background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autosave", initializer=lower_priority)
    return _background
PROJECT_FILTER = "Inpaint Studio project (*.inpaint)"


class RecoveryBanner(QWidget):
    """"A previous session ended unexpectedly" with Restore / Discard (never modal)."""

    def __init__(self) -> None:
        super().__init__(objectName="recoveryBanner")
        self.setStyleSheet("#recoveryBanner { background: #fff3c4; } QLabel { color: #333; }")
        self.label = QLabel()
        self.restore = QPushButton("Restore", objectName="recoveryRestore")
        self.discard = QPushButton("Discard", objectName="recoveryDiscard")
        lay = QHBoxLayout(self)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.restore)
        lay.addWidget(self.discard)
        self.hide()


class DocumentMixin:
    """Project, recovery and history behaviour of :class:`MainWindow`."""

    # -- set-up -----------------------------------------------------------------------------

    def _init_document(self) -> None:
        self.project_path: Path | None = None
        self.unsaved = False
        self.accepted: list[tuple[tuple[int, int, int, int], np.ndarray]] = []
        self.history: dict[int, Job] = {}
        self.recovery: RecoveryStore | None = None
        self._recovery_lock = asyncio.Lock()
        self._autosave_timer = QTimer(self, singleShot=True, interval=AUTOSAVE_DELAY_MS, timeout=self.schedule_save_now)
        hp = self.history_panel
        hp.replay_requested.connect(self.replay)
        hp.rerun_requested.connect(self.rerun)
        hp.copy_prompt_requested.connect(lambda jid: QGuiApplication.clipboard().setText(self.history[jid].request.prompt))
        hp.copy_seed_requested.connect(self._copy_seed)
        hp.show_results_requested.connect(self._show_results)
        self.banner.restore.clicked.connect(lambda: self.restore_recovery())
        self.banner.discard.clicked.connect(self._discard_recovery)
        self._orphans = orphaned_recoveries()
        if self._orphans:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime((self._orphans[0] / "manifest.json").stat().st_mtime))
            self.banner.label.setText(f"Work from an earlier session was not saved (last change {when}). Restore it?")
            self.banner.show()

    # -- gathering state ----------------------------------------------------------------------

    def _job_record(self, job: Job) -> JobRecord:
        region = job.prepared.region if job.prepared else None
        err = job.error
        return JobRecord(
            id=job.id, provider=job.provider.name, label=job.provider.label, parameters=job.request.parameters(),
            stage=job.stage, created=job.created, finished=job.finished, error=str(err) if err else None,
            details=getattr(err, "details", "") if err else "", sent=job.sent,
            region=[region.x0, region.y0, region.x1, region.y1, region.send_width, region.send_height, region.mode.value] if region else None,
            remote_tasks=list(job.prepared.remote_tasks) if job.prepared else [],
            draft_of=self._draft_of.get(job.id), notes=list(job.notes), model=getattr(job.provider, "model", None),
            mask=job.request.mask, style_references=list(job.request.style_references),
            character_references=list(job.request.character_references),
        )

    def project_state(self) -> ProjectState | None:
        """The whole working state (cheap references; encoding happens when saved)."""
        if self.photo is None or self.photo.source is None:
            return None
        variants = []
        for key, (job, v) in self._layer_info.items():
            lv = self._view(key)
            item = self._layer_items.get(key)
            variants.append(VariantRecord(
                id=str(key), job=job.id, index=v.index, safe=v.safe, name=item.text() if item else "",
                seed=v.seed, prompt=v.prompt, resolution=v.resolution, style_type=v.style_type,
                visible=lv.visible if lv else True, opacity=lv.opacity if lv else 1.0,
                feather=v.extra.get("feather", job.request.feather),
                colour_match=v.extra.get("colour_match", job.request.colour_match),
                layer=v.layer, raw=v.raw if v.raw is not None else None,
            ))
        name = self.photo_path.name if self.photo_path else "pasted.png"
        return ProjectState(
            original=self.photo.source, original_name=name, mask=self.canvas.mask.copy(), accepted=list(self.accepted),
            jobs=[self._job_record(j) for j in self.history.values()], variants=variants,
            panel=self.build_request(snapshot=False).parameters() | {"provider": self.panel.provider_name()},
            extra=getattr(self, "_project_extra", {}) | {"session": self.session},
        )

    # -- autosave ---------------------------------------------------------------------------

    def mark_dirty(self) -> None:
        """Something changed: save the recovery copy within a couple of seconds."""
        if self.photo is not None:
            self.unsaved = True
            self._autosave_timer.start()

    def schedule_save_now(self) -> None:
        self._spawn(self.save_recovery())

    async def save_recovery(self) -> None:
        """Write the recovery folder now (waits for a save already running)."""
        state = self.project_state()
        if state is None:
            return
        async with self._recovery_lock:
            if self.recovery is None:
                self.recovery = RecoveryStore(recovery_root() / self.session)
            try:
                await asyncio.get_running_loop().run_in_executor(background_executor(), self.recovery.save, state)
            except OSError as exc:
                self.report_error(f"The recovery copy could not be saved: {exc.strerror or exc}.")

    def _new_document(self) -> None:
        """Forget the previous photo's document state (its recovery copy goes too)."""
        if self.recovery is not None:
            self.recovery.discard()
            self.recovery = None
        self.accepted = []
        self.history = {}
        self.history_panel.list.clear()
        self.project_path = None
        self._project_extra = {}

    # -- projects ---------------------------------------------------------------------------

    def save_project(self, path: str | Path | None = None) -> asyncio.Task | None:
        """Save to ``path`` (or the current project file); returns the task."""
        target = Path(path) if path else self.project_path
        if target is None:
            self._save_as_dialog()
            return None
        if target.suffix != ".inpaint":
            target = target.with_suffix(".inpaint")
        state = self.project_state()
        if state is None:
            self.report_error("Open a photo before saving a project.")
            return None

        async def run() -> None:
            try:
                await asyncio.to_thread(save_project, target, state)
            except OSError as exc:
                self.report_error(f"The project could not be saved ({exc.strerror or exc}); the last saved file is unchanged.")
                return
            self.project_path = target
            self.unsaved = False
            self.setWindowTitle(f"{target.name} — Inpaint Studio")
            self.statusBar().showMessage(f"Saved {target}", 4000)
            self._add_recent(target)

        return self._spawn(run())

    def _save_as_dialog(self) -> None:
        if self.photo is None:
            return
        start = str(self.project_path) if self.project_path else self._default_out(".inpaint")
        path, _ = QFileDialog.getSaveFileName(self, "Save project", start, PROJECT_FILTER)
        if path:
            self.save_project(path)

    def open_project(self, path: str | Path) -> asyncio.Task:
        return self._spawn(self._load_state(Path(path), is_recovery=False))

    def restore_recovery(self, folder: Path | None = None) -> asyncio.Task | None:
        folder = folder or (self._orphans[0] if self._orphans else None)
        if folder is None:
            return None
        self.banner.hide()
        return self._spawn(self._load_state(folder, is_recovery=True))

    def _discard_recovery(self) -> None:
        import shutil

        for folder in self._orphans:
            shutil.rmtree(folder, ignore_errors=True)
        self._orphans = []
        self.banner.hide()

    async def _load_state(self, path: Path, *, is_recovery: bool) -> None:
        self.statusBar().showMessage(f"Opening {path.name}…")
        try:
            state = await asyncio.to_thread(read_project, path)
            photo = await asyncio.to_thread(state.working_photo)
        except InpaintError as exc:
            self.report_error(str(exc))
            return
        pyramid = await asyncio.to_thread(build_pyramid, photo.rgb, state.mask)
        self._new_document()
        self._clear_layers()
        self.undo_stack.clear()
        self.photo = photo
        self.photo_path = Path(state.original_name) if is_recovery else path.with_name(state.original_name)
        self.accepted = list(state.accepted)
        self._project_extra = {k: v for k, v in state.extra.items() if k != "session"}
        self.canvas.set_photo(photo.rgb, state.mask, pyramid)
        w, h = photo.size
        self.size_label.setText(f"{w} × {h}")
        self._apply_panel(state.panel)
        jobs = {}
        for rec in state.jobs:
            job = self._restored_job(rec, photo)
            jobs[rec.id] = job
            self.history[job.id] = job
            if rec.draft_of:
                self._draft_of[job.id] = rec.draft_of
        reserve_ids(max(jobs, default=0))
        for rec in state.variants:
            job = jobs.get(rec.job)
            if job is None:
                continue
            v = Variant(index=rec.index, safe=rec.safe, layer=rec.layer, raw=rec.raw, seed=rec.seed, prompt=rec.prompt,
                        resolution=rec.resolution, style_type=rec.style_type,
                        extra={"feather": rec.feather, "colour_match": rec.colour_match})
            job.variants.append(v)
            await self._show_variant_layer(job, v, rec.name, key=rec.id, visible=rec.visible, opacity=rec.opacity)
        await self._recover_from_journal(state, jobs, photo)
        for job in self.history.values():
            self._history_entry(job)
        if is_recovery:
            self.setWindowTitle(f"{state.original_name} (restored) — Inpaint Studio")
        else:
            self.project_path = path
            self.setWindowTitle(f"{path.name} — Inpaint Studio")
            self._add_recent(path)
        self._on_mask_changed()
        self.statusBar().showMessage(f"Opened {path.name}", 4000)
        await self.save_recovery()
        if is_recovery:
            import shutil

            for folder in self._orphans:
                shutil.rmtree(folder, ignore_errors=True)
            self._orphans = []
        self._resume_remote(state.jobs)

    async def _recover_from_journal(self, state: ProjectState, jobs: dict[int, Job], photo) -> None:
        """Results that reached the journal but not the saved state (a crash right after
        they arrived) are composited again from their journal files."""
        session = state.extra.get("session")
        if not session:
            return
        for rec in state.jobs:
            job = jobs.get(rec.id)
            if job is None or job.variants:
                continue
            found = await asyncio.to_thread(self.journal.for_job, session, rec.id)
            if not found:
                continue
            if job.prepared is None:  # saved before the region was known: the journal has it
                meta = found[0][1]
                sent = meta.get("sent") or {}
                x0, y0, x1, y1 = meta["region"]
                sw, sh = sent.get("send_size", [x1 - x0, y1 - y0])
                region = Region(x0, y0, x1, y1, sw, sh, ContextMode(sent.get("context", "full")))
                job.prepared = Prepared(region, np.zeros((0, 0, 3), np.uint8), np.zeros((0, 0), bool))
                job.sent_info = sent

            def rebuild(found=found, job=job):
                from ..core.imaging import load_image

                out = []
                for entry, meta in found:
                    raw = entry.image.read_bytes()
                    pixels = load_image(raw).rgb
                    layer = build_layer(photo.rgb, job.request.mask, job.prepared.region, pixels,
                                        feather=job.request.feather, colour_match=job.request.colour_match)
                    out.append(Variant(index=meta.get("index", len(out)), safe=True, layer=layer, raw=raw,
                                       raw_pixels=pixels, seed=meta.get("seed"), prompt=meta.get("returned_prompt"),
                                       resolution=meta.get("resolution"), style_type=meta.get("style_type"),
                                       extra={"journal": str(entry.image)}))
                return out

            job.variants = await asyncio.to_thread(rebuild)
            job.stage, job.error = Stage.DONE, None
            short = job.request.prompt.strip()[:24] or "offline fill"
            for v in job.variants:
                await self._show_variant_layer(job, v, f"{short} · {v.seed} · {job.request.rendering_speed.value}",
                                               key=f"j{job.id}-{v.index}")

    def _restored_job(self, rec: JobRecord, photo) -> Job:
        mask = rec.mask if rec.mask is not None else np.zeros(photo.rgb.shape[:2], bool)
        from dataclasses import replace as _replace

        request = _replace(request_from_parameters(rec.parameters, photo, mask),
                           style_references=tuple(rec.style_references),
                           character_references=tuple(rec.character_references))
        options = {"model": rec.model} if rec.provider == "cometapi" and rec.model else {}
        try:
            provider = create_provider(rec.provider, self.client, **options)
        except KeyError:
            provider = create_provider("local")
        job = Job(request=request, provider=provider, id=rec.id)
        job.stage = rec.stage if rec.stage in (Stage.DONE, Stage.FAILED, Stage.CANCELLED) else Stage.INTERRUPTED
        job.created, job.finished = rec.created, rec.finished
        job.started = rec.created
        job.notes = list(rec.notes)
        job.sent_info = rec.sent
        if rec.error:
            job.error = InpaintError(rec.error, details=rec.details)
        if rec.region:
            x0, y0, x1, y1, sw, sh, mode = rec.region
            job.prepared = Prepared(Region(x0, y0, x1, y1, sw, sh, ContextMode(mode)), np.zeros((0, 0, 3), np.uint8),
                                    np.zeros((0, 0), bool), remote_tasks=list(rec.remote_tasks))
        if job.stage == Stage.INTERRUPTED and not rec.remote_tasks:
            job.error = InpaintError("This job was interrupted before the provider answered; re-run it to try again.")
        return job

    def _resume_remote(self, records: list[JobRecord]) -> None:
        """Poll remote tasks that were still running when the last session ended."""
        for rec in records:
            if rec.stage in (Stage.DONE, Stage.FAILED, Stage.CANCELLED) or not rec.remote_tasks or not rec.region:
                continue
            old = self.history.get(rec.id)
            if old is None or not hasattr(old.provider, "resume"):
                continue
            job = self.runner.resume(old.request, old.provider, old.prepared.region, rec.remote_tasks)
            self._draft_of[job.id] = f"resumed job #{rec.id}"
            self.history.pop(rec.id, None)
            self.history_panel.list.takeItem(self.history_panel.list.row(self.history_panel._find(rec.id)))
            self.history[job.id] = job
            self._add_job_row(job)

    def _apply_panel(self, panel: dict) -> None:
        p = self.panel
        if panel.get("provider"):
            idx = p.provider_combo.findData(panel["provider"])
            if idx >= 0:
                p.provider_combo.setCurrentIndex(idx)
        p.prompt_edit.setPlainText(panel.get("prompt", ""))
        p.negative_prompt_edit.setText(panel.get("negative_prompt") or "")
        from ..core.request import RenderingSpeed

        speed = panel.get("rendering_speed")
        if speed in RenderingSpeed.__members__:
            p.speed_buttons[RenderingSpeed(speed)].setChecked(True)
        if panel.get("num_images"):
            p.num_images_spin.setValue(int(panel["num_images"]))
        seed = panel.get("seed")
        p.random_seed_check.setChecked(seed is None)
        if seed is not None:
            p.seed_spin.setValue(int(seed))
        for combo, key in ((p.magic_prompt_combo, "magic_prompt"), (p.style_type_combo, "style_type")):
            combo.setCurrentIndex(max(0, combo.findText(panel.get(key) or "(not set)")))
        p.style_preset_combo.setCurrentText(panel.get("style_preset") or "(not set)")
        p.style_codes_edit.setText(", ".join(panel.get("style_codes") or []))
        pal = panel.get("color_palette")
        if isinstance(pal, dict) and pal.get("name"):
            p.palette_combo.setCurrentText(pal["name"])
        elif isinstance(pal, dict):
            p.palette_combo.setCurrentText("Custom")
            p.palette_edit.setText(", ".join(f"{m['color_hex']}:{m.get('color_weight', 1.0)}" for m in pal.get("members", [])))
        else:
            p.palette_combo.setCurrentIndex(0)
        if panel.get("context"):
            p.context_combo.setCurrentText(panel["context"])
        if "feather" in panel:
            p.feather_spin.setValue(int(panel["feather"]))
        if "colour_match" in panel:
            p.colour_match_check.setChecked(bool(panel["colour_match"]))

    # -- history ------------------------------------------------------------------------------

    def _history_entry(self, job: Job) -> None:
        r = job.request
        seed = next((v.seed for v in job.variants if v.seed is not None), r.seed)
        state = job.stage if job.stage != Stage.INTERRUPTED else "interrupted — re-run to resubmit"
        icon = next((self._layer_items[k].icon() for k, (j, v) in self._layer_info.items()
                     if j.id == job.id and v.layer is not None and k in self._layer_items), None)
        self.history_panel.set_entry(job.id, prompt=r.prompt, provider=job.provider.label, speed=r.rendering_speed.value,
                                     seed=seed, created=job.created, state=state, draft_of=self._draft_of.get(job.id),
                                     icon=icon)

    def replay(self, job_id: int) -> asyncio.Task | None:
        """Restore a job's mask and parameters into the editor (one undoable mask step)."""
        job = self.history.get(job_id)
        if job is None or self.canvas.mask is None:
            return None
        self._apply_panel(job.request.parameters() | {"provider": job.provider.name})
        mask = job.request.mask

        def replace_all(m: np.ndarray):
            m[...] = mask
            return (0, 0, m.shape[1], m.shape[0])

        return self._whole_mask_edit(replace_all, "Replay mask")

    def rerun(self, job_id: int) -> Job | None:
        """Submit a job again with the same request (its mask and parameters) on the current image."""
        job = self.history.get(job_id)
        if job is None or self.photo is None:
            return None
        from dataclasses import replace

        request = replace(job.request, photo=self.photo)
        return self.generate(request=request)

    def _copy_seed(self, job_id: int) -> None:
        job = self.history[job_id]
        seed = next((v.seed for v in job.variants if v.seed is not None), job.request.seed)
        QGuiApplication.clipboard().setText("" if seed is None else str(seed))

    def _show_results(self, job_id: int) -> None:
        keys = [k for k, (j, _) in self._layer_info.items() if j.id == job_id]
        if keys:
            self._latest_job_layers = [k for k in keys if self._view(k) is not None]
            self.show_variant(1)
            self.docks["layersDock"].show()
        else:
            self.report_error("This job has no results in the Layers panel; the result journal keeps every file.")

    # -- re-blend --------------------------------------------------------------------------

    def reblend(self, feather: int | None = None, colour_match: bool | None = None) -> asyncio.Task | None:
        """Recompute the selected variant's layer from its stored raw result."""
        key = self.selected_key()
        info = self._layer_info.get(key)
        if info is None:
            return None
        job, v = info
        if job.prepared is None or (v.raw is None and v.raw_pixels is None):
            self.report_error("This variant has no stored raw result to re-blend.")
            return None
        feather = v.extra.get("feather", job.request.feather) if feather is None else feather
        colour_match = v.extra.get("colour_match", job.request.colour_match) if colour_match is None else colour_match

        async def run() -> None:
            def work():
                from ..core.imaging import load_image
                from .canvas import layer_rgba

                pixels = v.raw_pixels if v.raw_pixels is not None else load_image(v.raw).rgb
                layer = build_layer(job.request.photo.rgb, job.request.mask, job.prepared.region, pixels,
                                    feather=feather, colour_match=colour_match)
                return pixels, layer, layer_rgba(layer)

            pixels, layer, rgba = await asyncio.to_thread(work)
            v.layer = layer
            if v.raw is None:
                v.raw_pixels = pixels
            v.extra["feather"], v.extra["colour_match"] = feather, colour_match
            lv = self._view(key)
            if lv is not None:
                from .canvas import LayerView

                new = LayerView(key, layer.x0, layer.y0, rgba, lv.visible, lv.opacity)
                self.canvas.layers[self.canvas.layers.index(lv)] = new
                self.canvas.update()
            self.mark_dirty()

        return self._spawn(run())

    # -- journal --------------------------------------------------------------------------------

    def show_journal(self) -> None:
        dlg = QDialog(self, objectName="journalDialog")
        dlg.setWindowTitle("Result journal")
        entries = self.journal.entries()
        size = sum(e.bytes for e in entries)
        info = QLabel(f"{len(entries)} results, {size / 1e6:.1f} MB in {self.journal.root}", wordWrap=True)
        days = QSpinBox(minimum=1, maximum=3650, value=30, suffix=" days")
        clear = QPushButton("Clear older than")
        opener = QPushButton("Open folder")
        lines = QLabel("\n".join(f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(e.time))}  {e.image.name}" for e in entries[:20]))
        lines.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        def do_clear() -> None:
            n = self.journal.clear_older_than(days.value())
            rest = self.journal.entries()
            info.setText(f"Deleted {n}. {len(rest)} results, {sum(e.bytes for e in rest) / 1e6:.1f} MB in {self.journal.root}")

        def do_open() -> None:
            from PySide6.QtCore import QUrl
            from PySide6.QtGui import QDesktopServices

            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.journal.root)))

        clear.clicked.connect(do_clear)
        opener.clicked.connect(do_open)
        row = QHBoxLayout()
        row.addWidget(clear)
        row.addWidget(days)
        row.addStretch(1)
        row.addWidget(opener)
        lay = QVBoxLayout(dlg)
        lay.addWidget(info)
        lay.addWidget(lines)
        lay.addLayout(row)
        dlg.show()

