"""The editing application (Qt-free): the commands that change a document, and its events.

An :class:`EditSession` holds the :class:`~inpaint_studio.core.document.model.Document` being
edited (:attr:`EditSession.doc`: photo, mask, layers, history, the request) and what works on
it: the HTTP client, the result journal, the job runner, the undo history and the recovery
copy. Views connect to :attr:`EditSession.events` and receive typed events
(:mod:`~inpaint_studio.core.events`); they change the document only through the session's
commands. Only real changes emit; :attr:`EditSession.modified` fires once per change that
alters what a save would write (the autosave listens to it). Opening a file swaps a new
document in (:mod:`inpaint_studio.core.document.persist`).

Pixel work runs in ``asyncio.to_thread``; the commands themselves are cheap and run on the
loop's thread.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InpaintError
from ..events import (
    ErrorRaised,
    Event,
    JobAdded,
    JobProgressed,
    LayersChanged,
    MaskChanged,
    MaskStrengthReady,
    ParamsChanged,
    SelectionChanged,
    Signal,
    StatusChanged,
)
from ..pipeline.jobs import Job, JobRunner
from ..pipeline.protocol import Prepared, Provider, ProviderFactory, Stage
from ..pipeline.request import EditRequest, Quality, RenderingSpeed
from ..pixels.maskedit import MaskPatch, Rect, sync_alpha
from ..undo import FunctionCommand, UndoHistory
from .layers import LayerCommands
from .model import Document, VariantLayer, layer_name

if TYPE_CHECKING:
    from ..formats.recovery_folder import RecoveryStore


class EditSession(LayerCommands):
    """One document being edited.

    Args:
        client: the shared ``httpx.AsyncClient`` (providers and result downloads), or None
            for the offline engine only.
        journal: the result :class:`~inpaint_studio.core.formats.journal.Journal`, or None.
        session_id: names this program run in the journal and the recovery folder.
        recovery_folder: where the recovery copy is written, or None for no recovery copy.
        concurrency: jobs at once per provider.
        providers: the provider registry's factory (``inpaint_studio.providers.make_provider``),
            injected so restored jobs get real providers (resume, re-run).
    """

    def __init__(
        self,
        *,
        client=None,
        journal=None,
        session_id: str | None = None,
        recovery_folder: Path | None = None,
        concurrency: int = 2,
        providers: ProviderFactory | None = None,
    ) -> None:
        #: builds the provider a restored job names (``providers.make_provider``); None: such
        #: jobs keep a stand-in that cannot run again (the core never imports ``providers``)
        self.providers = providers
        self.client = client
        self.journal = journal
        self.session_id = session_id or time.strftime("%Y%m%d-%H%M%S")
        self.recovery_folder = recovery_folder
        self.runner = JobRunner(
            client,
            listener=self._on_job,
            journal=journal,
            concurrency=concurrency,
            persist_tasks=self._persist_tasks,
        )
        self.undo = UndoHistory(limit=200)
        #: every change of the document, as a typed event
        self.events: Signal[Event] = Signal()
        #: fires once per change that alters what a save writes; ``True`` when the recovery
        #: copy must be written now (a job has sent its upload or started paid work)
        self.modified: Signal[bool] = Signal()
        self._tasks: set[asyncio.Task] = set()
        #: the recovery copy on disk (made at the first save) and the lock its writes take
        self.recovery_store: RecoveryStore | None = None
        self.recovery_lock = asyncio.Lock()
        self._reset()

    def _reset(self, request: dict[str, Any] | None = None) -> None:
        #: the document being edited (swapped whole when a file is opened)
        self.doc = Document(request)
        self.recorded: set[int] = set()  # jobs written to the recovery copy since they started
        #: counts the changes a save would write; :attr:`recovery_revision` is the one the
        #: recovery copy holds (equal: the autosave has nothing to do)
        self.revision = 0
        self.recovery_revision = 0

    # -- events -------------------------------------------------------------------------------

    def subscribe(self, fn: Callable[[Event], object]) -> Callable[[], None]:
        """Call ``fn(event)`` after every change; returns a function that unsubscribes."""
        return self.events.connect(fn)

    def emit(self, event: Event) -> None:
        """Announce ``event``; one that modifies the document sets the unsaved flag (and says
        so once, :class:`StatusChanged`) and fires :attr:`modified`."""
        if event.modifies and self.doc.photo is not None:
            self.revision += 1
            if not self.doc.unsaved:
                self.doc.unsaved = True
                self.events.emit(StatusChanged())
            self.events.emit(event)
            self.modified.emit(False)
        else:
            self.events.emit(event)

    def error(self, message: str) -> None:
        self.emit(ErrorRaised(message))

    def spawn(self, coro) -> asyncio.Task:
        """Run ``coro`` on the loop, owned by the session; a failure becomes an ``ERROR`` change."""
        task = asyncio.get_event_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        assert exc is not None
        if isinstance(exc, InpaintError):
            self.error(str(exc))
        else:
            from ..crash import write_crash_report

            self.error(
                f"Something went wrong inside Inpaint Studio; a report was written to {write_crash_report(exc)}."
            )

    @property
    def busy(self) -> bool:
        """Whether session tasks (result handling, saves) are still running."""
        return bool(self._tasks)

    # -- the request -------------------------------------------------------------------------

    def set_request(self, **changes: Any) -> frozenset[str]:
        """Change the document's request (parameter names, ``provider``,
        ``provider_options``; typed values, reference images as tuples of
        :class:`~inpaint_studio.core.pixels.imaging.ReferenceImage`). Announces
        :class:`ParamsChanged` with the fields that really changed; returns them.

        Raises:
            KeyError: a name that is no request field.
        """
        changed = self.doc.update_request(changes)
        if changed:
            self.emit(ParamsChanged(changed))
        return changed

    def request(self, *, snapshot: bool = True) -> EditRequest | None:
        """The request the document would send (:meth:`Document.edit_request`)."""
        return self.doc.edit_request(snapshot=snapshot)

    def mark_saved(self, path: Path | None) -> None:
        self.doc.project_path = path
        self.doc.unsaved = False
        self.emit(StatusChanged())

    # -- mask --------------------------------------------------------------------------------

    def mask_changed(self, rect: Rect | None = None, *, shown: bool = False) -> None:
        """Announce that the mask changed in ``rect`` (None = all); ``shown``: the view that
        made the change already displays it."""
        if self.doc.mask is None:
            return
        self.doc.mask_version += 1
        h, w = self.doc.mask.shape
        self.emit(MaskChanged(rect or (0, 0, w, h), shown=shown))

    async def prepare_soft_mask(self) -> None:
        """Make the soft mask off the loop's thread (~20 ms on 18 MP) before the first soft
        stroke needs it (the brush's hardness or opacity dropped below 100 %)."""
        mask = self.doc.mask
        if mask is None or self.doc.mask_alpha is not None:
            return
        alpha = await asyncio.to_thread(lambda: mask.view(np.uint8) * np.uint8(255))
        if self.doc.mask is mask and self.doc.mask_alpha is None:
            self.doc.mask_alpha = alpha
            # views switch to the soft mask (it looks the same); the two-level mask, and so the
            # upload and its preview, did not change: no new mask version
            h, w = mask.shape
            self.emit(MaskStrengthReady((0, 0, w, h)))  # not an edit: nothing unsaved

    def _patch_command(self, patch: MaskPatch, text: str) -> FunctionCommand:
        def apply(undo: bool) -> None:
            assert self.doc.mask is not None
            patch.apply(self.doc.mask, undo=undo, alpha=self.doc.mask_alpha)
            self.mask_changed(patch.rect)

        return FunctionCommand(text, lambda: apply(False), lambda: apply(True))

    def commit_mask_edit(self, patch: MaskPatch, text: str = "Mask edit") -> None:
        """Record an edit a tool already made to :attr:`mask` and showed (a stroke, a shape)
        as one step."""
        self.undo.push(self._patch_command(patch, text), applied=True)
        self.mask_changed(patch.rect, shown=True)

    async def edit_mask(self, fn: Callable[[np.ndarray], Rect | None], text: str) -> bool:
        """Run ``fn(mask_copy) -> changed rect or None`` off the loop's thread, then apply the
        change as one undoable step. Returns whether the mask changed."""
        if self.doc.mask is None:
            return False
        mask, alpha = self.doc.mask, self.doc.mask_alpha
        before = mask.copy()
        after = before.copy()
        rect = await asyncio.to_thread(fn, after)
        if rect is None or self.doc.mask is not mask or self.doc.mask_alpha is not alpha:
            return False
        x0, y0, x1, y1 = rect

        def capture() -> MaskPatch:
            if alpha is None:
                return MaskPatch.capture(before[y0:y1, x0:x1], after[y0:y1, x0:x1], rect)
            a_before = alpha[y0:y1, x0:x1].copy()
            a_after = a_before.copy()
            sync_alpha(a_after, after[y0:y1, x0:x1], (0, 0, x1 - x0, y1 - y0))
            return MaskPatch.capture(
                before[y0:y1, x0:x1], after[y0:y1, x0:x1], rect, a_before, a_after
            )

        patch = await asyncio.to_thread(capture)
        if not patch.changed or self.doc.mask is not mask:
            return False
        self.undo.push(self._patch_command(patch, text))
        return True

    async def replace_mask(self, new: np.ndarray, text: str) -> bool:
        """Make the mask ``new`` (``(H, W) bool``, the photo's size), undoably."""

        def put(m: np.ndarray):
            m[...] = new
            return (0, 0, m.shape[1], m.shape[0])

        return await self.edit_mask(put, text)

    # -- jobs --------------------------------------------------------------------------------

    def generate(
        self,
        request: EditRequest,
        provider: Provider,
        *,
        prepared: Prepared | None = None,
        draft_of: str | None = None,
    ) -> Job:
        """Start a job; returns at once. ``draft_of`` is the key of the draft layer a QUALITY
        final replaces.

        Raises:
            ValidationError: the request breaks a rule (nothing is sent).
        """
        job = self.runner.submit(request, provider, prepared)
        if draft_of:
            self.doc.draft_of[job.id] = draft_of
        self.doc.jobs[job.id] = job
        self.emit(JobAdded(job))
        return job

    def _on_job(self, job: Job) -> None:
        if job.id not in self.doc.jobs:
            return
        # the job and its region are on disk before any answer can arrive
        record = job.stage in (Stage.UPLOADING, Stage.WAITING) and job.id not in self.recorded
        if record:
            self.recorded.add(job.id)
        self.emit(JobProgressed(job, recorded=record))
        if record:
            self.revision += 1
            self.modified.emit(True)
        if job.stage in (Stage.DONE, Stage.FAILED) and job.variants:
            self.spawn(self.add_results(job))

    async def _persist_tasks(self, job: Job) -> None:
        """A provider created a remote (paid) task: the recovery copy has its id before the
        provider creates the next one (atomic write with fsync)."""
        if job.id in self.doc.jobs:
            self.recorded.add(job.id)
            await self.save_recovery()

    async def add_results(self, job: Job) -> list[str]:
        """Make a finished job's variants layers, the first shown and selected. The recovery
        copy is written with them *before* any view learns of them, so a crash from then on
        loses none (and the autosave has nothing left to write). A QUALITY final hides the
        draft it was made from. Returns the new layers' keys."""
        if self.doc.photo is None or job.request.photo.size != self.doc.photo.size:
            self.error(
                "Results of a job for the canvas before it was expanded are kept in the result "
                "journal (File ▸ Result journal), not as layers."
            )
            return []
        draft_key = self.doc.draft_of.get(job.id)
        draft = self.doc.layer(draft_key)
        label = draft.name if draft is not None else draft_key
        new = [
            VariantLayer(
                f"j{job.id}-{v.index}", job, v, layer_name(job, v, label), final_of=draft_key
            )
            for v in job.variants
        ]
        doc = self.doc
        doc.layers.extend(new)
        doc.results_saved.add(job.id)
        if draft is not None and draft in doc.layers:
            draft.visible = False
        shown = [lay.key for lay in new if lay.drawable]
        if shown and draft_key in doc.latest:  # a final takes its draft's number key
            doc.latest = [shown[0] if k == draft_key else k for k in doc.latest]
        elif shown:  # a job with nothing to show (withheld) leaves the keys as they were
            doc.latest = shown
        if shown:  # saved as it will be shown: the first variant alone in its region
            for key in self.overlapping(shown[0]):
                other = doc.layer(key)
                if other is not None:
                    other.visible = False
            next(lay for lay in new if lay.key == shown[0]).visible = True
            doc.selected = shown[0]
        before = self.revision
        await self.save_recovery()
        if self.doc is not doc:
            return []
        self.emit(LayersChanged())
        if shown:
            self.emit(SelectionChanged(doc.selected))
        if self.revision == before + 1:  # nothing else changed meanwhile: the copy is current
            self.recovery_revision = self.revision
        return [lay.key for lay in new]

    def cancel(self, job_id: int) -> None:
        job = self.runner.jobs.get(job_id)
        if job is not None:
            self.runner.cancel(job)

    def rerun(self, job_id: int, provider: Provider) -> Job | None:
        """Submit a job again with its mask (moved by any Expand since, :meth:`job_mask`) and
        parameters on the current working image.

        Raises:
            MaskError: its mask cannot be placed on the current canvas.
            ValidationError: the request breaks a rule (nothing is sent).
        """
        job = self.doc.jobs.get(job_id)
        if job is None or self.doc.photo is None:
            return None
        mask = self.doc.job_mask(job_id)
        alpha = job.request.mask_alpha if mask is job.request.mask else None
        return self.generate(
            replace(job.request, photo=self.doc.photo, mask=mask, mask_alpha=alpha), provider
        )

    def final_request(self, key: str | None = None) -> EditRequest | None:
        """The final's request for the draft layer ``key`` (selected): same seed, one image,
        at QUALITY speed (or, for a model with qualities, Ideogram 4.x, at high)."""
        lay = self.doc.layer(key or self.doc.selected)
        if lay is None or not lay.is_draft:
            return None
        better = (
            {"rendering_speed": RenderingSpeed.QUALITY}
            if lay.job.provider.capabilities.rendering_speed
            else {"quality": Quality.HIGH}
        )
        return replace(lay.job.request, seed=lay.variant.seed, num_images=1, **better)

    # -- persistence (see persist.py) --------------------------------------------------------

    async def open(self, path: str | Path | None, data: bytes | None = None) -> None:
        """Open a photo or a ``.inpaint`` project (all or nothing).

        Raises:
            InpaintError: the file cannot be opened; the session is unchanged.
        """
        from .persist import install, load

        loaded = await load(path, data)
        await install(self, loaded)

    async def restore(self, folder: Path) -> None:
        """Restore a recovery folder left by another run; only that folder is removed after.

        Raises:
            InpaintError: it cannot be read; the session and the folder are unchanged.
        """
        from .persist import install, load_recovery

        loaded = await load_recovery(folder, self.journal)
        await install(self, loaded)

    async def save(self, path: str | Path, progress=None) -> Path:
        """Save the document as a ``.inpaint`` project (atomic); returns the path written.
        ``progress(done, total)`` (members written) is called on the loop as it goes.

        Raises:
            OSError: it could not be written (the previous file is intact).
        """
        from .persist import save

        return await save(self, Path(path), progress)

    async def save_recovery(self) -> None:
        """Write the recovery copy now (waits for a save already running); never raises."""
        from .recovery import save_recovery

        await save_recovery(self)

    def discard_recovery(self) -> None:
        """Delete this session's own recovery copy (after the user chose not to keep it)."""
        if self.recovery_store is not None:
            self.recovery_store.discard()
            self.recovery_store = None
        self.recorded.clear()

    def resume_remote(self) -> None:
        """Poll remote tasks (Magnific, 1min.ai) a restored job was still waiting for."""
        for job_id, job in list(self.doc.jobs.items()):
            if job.prepared is None:
                continue
            tasks = job.prepared.remote_tasks
            if (
                job.stage != Stage.INTERRUPTED
                or not tasks
                or not job.provider.description.can_resume
            ):
                continue
            new = self.runner.resume(job.request, job.provider, job.prepared.region, tasks)
            self.doc.draft_of[new.id] = (
                self.doc.draft_of.pop(job_id, "") or f"resumed job #{job_id}"
            )
            del self.doc.jobs[job_id]
            self.doc.jobs[new.id] = new
            self.emit(JobAdded(new))

    @property
    def has_remote_work(self) -> bool:
        """Whether a job is waiting on work running at a provider (paid, resumable)."""
        return any(
            j.is_active and j.prepared and j.prepared.remote_tasks
            for j in self.runner.jobs.values()
        )

    async def aclose(self, *, keep_recovery: bool | None = None) -> None:
        """Cancel jobs and session tasks. The recovery copy is kept when there is unsaved work
        or remote work (``keep_recovery`` overrides) and deleted otherwise."""
        keep = (
            (self.doc.unsaved or self.has_remote_work) if keep_recovery is None else keep_recovery
        )
        if keep and self.doc.photo is not None:
            await self.save_recovery()
        else:
            self.discard_recovery()
        await self.runner.aclose()
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)

    # used by persist.install ---------------------------------------------------------------------

    def swap_document(self, doc: Document) -> None:
        """Make ``doc`` the document (persist.install): the old one's recovery copy goes, its
        jobs stop — except those a provider is already working on (paid): they run to the end
        and their results go to the journal."""
        self.discard_recovery()  # the previous document's copy: the user has answered by now
        paid = {
            i: j
            for i, j in self.runner.jobs.items()
            if j.is_active and j.prepared and j.prepared.remote_tasks
        }
        for job in self.runner.jobs.values():
            if job.id not in paid:
                self.runner.cancel(job)
        self.runner.jobs = paid
        self.doc = doc
        self.recorded = set()
        self.revision = self.recovery_revision = 0
        self.undo.clear()
