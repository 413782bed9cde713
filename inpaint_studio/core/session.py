"""The editing session: one Qt-free owner of a document and everything done to it.

An :class:`EditSession` owns the photo and its working image, the mask (``(H, W) bool``,
True = edit) with its :class:`~inpaint_studio.core.undo.UndoHistory`, the accepted edits,
every variant layer with its view state (visible, opacity, blend settings, draft→final
link), the jobs (history), the file path and the unsaved flag. Views subscribe with
:meth:`EditSession.subscribe` and receive :class:`Change` s; they change the document only
through the session's commands. Saving, opening and crash recovery are functions of the
session (:mod:`inpaint_studio.core.persist`), never of a window.

Pixel work runs in ``asyncio.to_thread``; the commands themselves are cheap and run on the
loop's thread.
"""

from __future__ import annotations

import asyncio
import time
import traceback
import weakref
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .composite import blend_into, build_layer
from .document import CONTENT, Change, Listener, VariantLayer, layer_name
from .errors import InpaintError
from .imaging import Photo, ReferenceImage, load_image
from .jobs import Job, JobRunner
from .maskedit import MaskPatch, Rect, sync_alpha
from .protocol import Prepared, Provider, ProviderFactory, Stage
from .request import EditRequest, RenderingSpeed
from .undo import FunctionCommand, UndoHistory

if TYPE_CHECKING:
    from .project import RecoveryStore


class EditSession:
    """One document being edited.

    Args:
        client: the shared ``httpx.AsyncClient`` (providers and result downloads), or None
            for the offline engine only.
        journal: the result :class:`~inpaint_studio.core.journal.Journal`, or None.
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
        self.listeners: list[Listener] = []
        self._tasks: set[asyncio.Task] = set()
        self._recovery: RecoveryStore | None = None
        self._recovery_lock = asyncio.Lock()
        self._reset()

    def _reset(self) -> None:
        self.photo: Photo | None = None
        self.photo_path: Path | None = None
        self.project_path: Path | None = None
        self.mask: np.ndarray | None = None
        #: ``(H, W) uint8`` soft mask: blend strength (0–255), > 0 exactly where :attr:`mask`
        #: is set; made on the first soft or translucent brush stroke (``None``: a hard mask).
        #: Providers get the two-level mask only.
        self.mask_alpha: np.ndarray | None = None
        self.mask_version = 0
        self._snapshot: tuple | None = None  # (key, mask copy, soft mask copy)
        self.accepted: list[tuple[Rect, np.ndarray]] = []
        self.layers: list[VariantLayer] = []  # bottom to top
        self.jobs: dict[int, Job] = {}
        self.draft_of: dict[int, str] = {}  # final job id -> draft layer key (or a label)
        self.results_saved: set[int] = set()  # jobs whose results reached the recovery copy
        self.recorded: set[int] = set()  # jobs written to the recovery copy since they started
        self.parameters: dict = {}
        #: the request's reference images, by parameter name (``"style_references"``,
        #: ``"character_references"``): part of the document, saved with it
        self.references: dict[str, tuple[ReferenceImage, ...]] = {}
        self.extra: dict = {}
        self.selected: str | None = None
        self.latest: list[str] = []  # the newest job's drawable layers, in key order 1–8
        self.unsaved = False
        self.restored = False

    # -- events -------------------------------------------------------------------------------

    def subscribe(self, fn: Listener) -> Callable[[], None]:
        """Call ``fn(change)`` after every change; returns a function that unsubscribes."""
        self.listeners.append(fn)
        return lambda: self.listeners.remove(fn) if fn in self.listeners else None

    def emit(self, change: Change) -> None:
        if change.kind in CONTENT and self.photo is not None and not self.unsaved:
            self.unsaved = True
            self._notify(Change(Change.STATUS))
        self._notify(change)

    def _notify(self, change: Change) -> None:
        for fn in list(self.listeners):
            try:
                fn(change)
            except Exception:  # a broken view must not break the document
                traceback.print_exc()

    def error(self, message: str) -> None:
        self._notify(Change(Change.ERROR, message=message))

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
            from .crash import write_crash_report

            self.error(
                f"Something went wrong inside Inpaint Studio; a report was written to {write_crash_report(exc)}."
            )

    @property
    def busy(self) -> bool:
        """Whether session tasks (result handling, saves) are still running."""
        return bool(self._tasks)

    # -- the document -------------------------------------------------------------------------

    @property
    def display_name(self) -> str:
        if self.project_path is not None:
            return self.project_path.name
        if self.photo_path is not None:
            return self.photo_path.name
        return "Pasted image" if self.photo is not None else ""

    @property
    def title(self) -> str:
        """The window title: document name, ``*`` while unsaved, the program's name."""
        if self.photo is None:
            return "Inpaint Studio"
        return f"{self.display_name}{' *' if self.unsaved else ''} — Inpaint Studio"

    def layer(self, key: str | None) -> VariantLayer | None:
        return next((lay for lay in self.layers if lay.key == key), None)

    def set_parameters(self, params: dict, *, announce: bool = False, quiet: bool = False) -> None:
        """Store the request parameters (the Generate panel's values, JSON-able, with
        ``provider``). ``announce`` tells views to show them (open, replay); ``quiet`` stores
        them without an event (a view reading back what it was just told). An announcement
        is made even when nothing changed (Replay shows the job's request whatever the panel
        holds)."""
        if params == self.parameters and not announce:
            return
        self.parameters = dict(params)
        if quiet:
            return
        if announce:
            self.emit(Change(Change.PARAMETERS))
        elif self.photo is not None:
            self.emit(Change(Change.PARAMETERS, message="edited"))

    def set_references(self, refs: dict, *, announce: bool = False, quiet: bool = False) -> None:
        """Store the request's reference images (``{parameter name: tuple of
        ReferenceImage}``; empty lists left out); ``announce`` and ``quiet`` as in
        :meth:`set_parameters`."""
        refs = {k: tuple(v) for k, v in refs.items() if v}
        if refs == self.references:
            return
        self.references = refs
        if quiet:
            return
        if announce:
            self.emit(Change(Change.PARAMETERS))
        elif self.photo is not None:
            self.emit(Change(Change.PARAMETERS, message="edited"))

    def mark_saved(self, path: Path | None) -> None:
        self.project_path = path
        self.unsaved = False
        self._notify(Change(Change.STATUS))

    # -- mask --------------------------------------------------------------------------------

    def mask_changed(self, rect: Rect | None = None, *, shown: bool = False) -> None:
        """Tell views the mask changed in ``rect`` (None = all); ``shown``: the view that
        made the change already displays it (message ``"shown"``)."""
        if self.mask is None:
            return
        self.mask_version += 1
        h, w = self.mask.shape
        self.emit(Change(Change.MASK, rect=rect or (0, 0, w, h), message="shown" if shown else ""))

    def soft_mask(self) -> np.ndarray | None:
        """The soft mask (``(H, W) uint8`` strength, see :attr:`mask_alpha`), made now from
        the two-level mask (full strength where it is set) if the document had none."""
        if self.mask is None:
            return None
        if self.mask_alpha is None:
            self.mask_alpha = self.mask.view(np.uint8) * np.uint8(255)
        return self.mask_alpha

    def mask_snapshot(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Read-only copies of the mask and the soft mask as they are now, shared by every
        caller until the mask changes (a job's request and each recovery save would each copy
        36 MB on 18 MP otherwise). Never write into them. Every change of the mask is
        announced with :meth:`mask_changed` (which versions it), so the copies stay true."""
        assert self.mask is not None, "open a photo first"
        key = (id(self.mask), id(self.mask_alpha), self.mask_version)
        if self._snapshot is None or self._snapshot[0] != key:
            mask = self.mask.copy()
            alpha = self.mask_alpha.copy() if self.mask_alpha is not None else None
            for a in (mask, alpha):
                if a is not None:
                    a.flags.writeable = False
            self._snapshot = (key, mask, alpha)
        return self._snapshot[1], self._snapshot[2]

    async def prepare_soft_mask(self) -> None:
        """Make the soft mask off the loop's thread (~20 ms on 18 MP) before the first soft
        stroke needs it (the brush's hardness or opacity dropped below 100 %)."""
        mask = self.mask
        if mask is None or self.mask_alpha is not None:
            return
        alpha = await asyncio.to_thread(lambda: mask.view(np.uint8) * np.uint8(255))
        if self.mask is mask and self.mask_alpha is None:
            self.mask_alpha = alpha
            # views switch to the soft mask (it looks the same); the two-level mask, and so the
            # upload and its preview, did not change: no new mask version
            h, w = mask.shape
            self._notify(
                Change(Change.MASK, rect=(0, 0, w, h), message="soft")
            )  # not an edit: nothing unsaved

    def _patch_command(self, patch: MaskPatch, text: str) -> FunctionCommand:
        def apply(undo: bool) -> None:
            assert self.mask is not None
            patch.apply(self.mask, undo=undo, alpha=self.mask_alpha)
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
        if self.mask is None:
            return False
        mask, alpha = self.mask, self.mask_alpha
        before = mask.copy()
        after = before.copy()
        rect = await asyncio.to_thread(fn, after)
        if rect is None or self.mask is not mask or self.mask_alpha is not alpha:
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
        if not patch.changed or self.mask is not mask:
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

    def request(self, values: dict, *, snapshot: bool = True) -> EditRequest | None:
        """An :class:`EditRequest` for the current image and mask with ``values`` (its
        keyword arguments); the mask is copied unless ``snapshot`` is False."""
        if self.photo is None or self.mask is None:
            return None
        mask, alpha = self.mask_snapshot() if snapshot else (self.mask, self.mask_alpha)
        return EditRequest(photo=self.photo, mask=mask, mask_alpha=alpha, **values)

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
            self.draft_of[job.id] = draft_of
        self.jobs[job.id] = job
        self.emit(Change(Change.JOB, job=job))
        return job

    def _on_job(self, job: Job) -> None:
        if job.id not in self.jobs:
            return
        self._notify(Change(Change.JOB, job=job, message="progress"))
        if job.stage in (Stage.UPLOADING, Stage.WAITING) and job.id not in self.recorded:
            # the job and its region are on disk before any answer can arrive
            self.recorded.add(job.id)
            self.emit(Change(Change.JOB, job=job, message="recorded"))
        elif job.stage == Stage.WAITING:
            self.emit(Change(Change.JOB, job=job, message="remote tasks"))
        if job.stage in (Stage.DONE, Stage.FAILED) and job.variants:
            self.spawn(self.add_results(job))

    async def _persist_tasks(self, job: Job) -> None:
        """A provider created a remote (paid) task: the recovery copy has its id before the
        provider creates the next one (atomic write with fsync)."""
        if job.id in self.jobs:
            self.recorded.add(job.id)
            await self.save_recovery()

    async def add_results(self, job: Job) -> list[str]:
        """Make a finished job's variants layers. The recovery copy is written with them
        *before* any view learns of them, so a crash from then on loses none. A QUALITY
        final hides the draft it was made from. Returns the new layers' keys."""
        if self.photo is None or job.request.photo.size != self.photo.size:
            self.error(
                "Results of a job for the canvas before it was expanded are kept in the result "
                "journal (File ▸ Result journal), not as layers."
            )
            return []
        draft_key = self.draft_of.get(job.id)
        draft = self.layer(draft_key)
        label = draft.name if draft is not None else draft_key
        new = [
            VariantLayer(
                f"j{job.id}-{v.index}", job, v, layer_name(job, v, label), final_of=draft_key
            )
            for v in job.variants
        ]
        self.layers.extend(new)
        self.results_saved.add(job.id)
        await self.save_recovery()
        if draft is not None and draft in self.layers:
            draft.visible = False
        self.latest = [lay.key for lay in new if lay.drawable]
        self.emit(Change(Change.LAYERS))
        if self.latest:
            self.show_variant(1)
        return [lay.key for lay in new]

    def cancel(self, job_id: int) -> None:
        job = self.runner.jobs.get(job_id)
        if job is not None:
            self.runner.cancel(job)

    def job_mask(self, job_id: int) -> np.ndarray:
        """Job ``job_id``'s mask on the current canvas (``(H, W) bool``): the mask it was sent
        with, moved by the Expands made since (see :attr:`Job.offset`).

        Raises:
            MaskError: it cannot be placed (made on a canvas whose place is unknown, or partly
                outside the current one after an undone Expand), with one sentence.
        """
        from .errors import MaskError

        job = self.jobs.get(job_id)
        if job is None or self.mask is None:
            raise MaskError("That job is not in this document's history.")
        src = job.request.mask
        h, w = self.mask.shape
        if job.offset is None:
            raise MaskError(
                f"Job #{job_id} was made on a {src.shape[1]}×{src.shape[0]} canvas whose place on this "
                f"{w}×{h} one is not known, so its mask cannot be used here."
            )
        ox, oy = job.offset
        if (ox, oy) == (0, 0) and src.shape == (h, w):
            return src
        sh, sw = src.shape
        out = np.zeros((h, w), bool)
        x0, y0, x1, y1 = max(0, ox), max(0, oy), min(w, ox + sw), min(h, oy + sh)
        if x0 < x1 and y0 < y1:
            out[y0:y1, x0:x1] = src[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
        if int(out.sum()) != int(src.sum()):
            raise MaskError(
                f"Job #{job_id}'s mask lies partly outside this {w}×{h} canvas (it was made on the "
                "expanded canvas); redo the Expand to use it."
            )
        return out

    def rerun(self, job_id: int, provider: Provider) -> Job | None:
        """Submit a job again with its mask (moved by any Expand since, :meth:`job_mask`) and
        parameters on the current working image.

        Raises:
            MaskError: its mask cannot be placed on the current canvas.
            ValidationError: the request breaks a rule (nothing is sent).
        """
        job = self.jobs.get(job_id)
        if job is None or self.photo is None:
            return None
        mask = self.job_mask(job_id)
        alpha = job.request.mask_alpha if mask is job.request.mask else None
        return self.generate(
            replace(job.request, photo=self.photo, mask=mask, mask_alpha=alpha), provider
        )

    def final_request(self, key: str | None = None) -> EditRequest | None:
        """The QUALITY request for the draft layer ``key`` (selected): same seed, one image."""
        lay = self.layer(key or self.selected)
        if lay is None or not lay.is_draft:
            return None
        return replace(
            lay.job.request,
            rendering_speed=RenderingSpeed.QUALITY,
            seed=lay.variant.seed,
            num_images=1,
        )

    # -- layers ------------------------------------------------------------------------------

    def select(self, key: str | None) -> None:
        if key == self.selected:
            return
        self.selected = key if self.layer(key) is not None else None
        self._notify(Change(Change.SELECTION, key=self.selected))

    def set_visible(self, key: str, visible: bool) -> None:
        lay = self.layer(key)
        if lay is None or lay.visible == visible or not lay.drawable:
            return
        lay.visible = visible
        self.emit(Change(Change.LAYER, key=key))

    def set_opacity(self, key: str, opacity: float) -> None:
        lay = self.layer(key)
        opacity = min(1.0, max(0.0, float(opacity)))
        if lay is None or lay.opacity == opacity:
            return
        lay.opacity = opacity
        self.emit(Change(Change.LAYER, key=key))

    def show_variant(self, n: int) -> None:
        """Show only variant ``n`` (1-based) of the newest job and select it."""
        if not 1 <= n <= len(self.latest):
            return
        chosen = self.latest[n - 1]
        for key in self.latest:
            self.set_visible(key, key == chosen)
        self.select(chosen)

    def show_job(self, job_id: int) -> bool:
        """Make a job's layers the ones keys 1–8 flip through, and show its first."""
        keys = [lay.key for lay in self.layers if lay.job.id == job_id and lay.drawable]
        if not keys:
            return False
        self.latest = keys
        self.show_variant(1)
        return True

    def _next_selection(self) -> None:
        """After a layer left: the topmost visible layer, or none — never a hidden one."""
        visible = [lay for lay in self.layers if lay.visible and lay.drawable]
        self.select(visible[-1].key if visible else None)

    def _remove_layers(self, keys: set[str]) -> list[tuple[int, VariantLayer]]:
        removed = [(i, lay) for i, lay in enumerate(self.layers) if lay.key in keys]
        self.layers = [lay for lay in self.layers if lay.key not in keys]
        self.latest = [k for k in self.latest if k not in keys]
        self.emit(Change(Change.LAYERS))
        if self.selected in keys or self.selected is None:
            self._next_selection()
        return removed

    def _restore_layers(self, removed: list[tuple[int, VariantLayer]], select: str | None) -> None:
        for i, lay in removed:
            self.layers.insert(min(i, len(self.layers)), lay)
        self.emit(Change(Change.LAYERS))
        self.select(select)

    def discard(self, key: str | None = None) -> bool:
        """Remove layer ``key`` (the selected one), undoably."""
        chosen = key or self.selected
        if chosen is None:
            return False
        return self._discard({chosen}, "Discard variant", chosen)

    def discard_others(self, key: str | None = None) -> bool:
        """Keep layer ``key`` (the selected one) and remove every other, as one undoable step."""
        keep = key or self.selected
        if self.layer(keep) is None:
            return False
        return self._discard(
            {lay.key for lay in self.layers if lay.key != keep}, "Discard other variants", keep
        )

    def _discard(self, keys: set[str], text: str, selected: str | None) -> bool:
        keys = {k for k in keys if self.layer(k) is not None}
        if not keys:
            return False
        removed: list = []

        def redo() -> None:
            removed[:] = self._remove_layers(keys)

        self.undo.push(FunctionCommand(text, redo, lambda: self._restore_layers(removed, selected)))
        return True

    async def accept(self, key: str | None = None) -> bool:
        """Bake layer ``key`` (the selected one) into the working image, undoably.

        Only a visible layer can be accepted: what is baked is what the user sees. Returns
        False (and says why with an ``ERROR`` change) otherwise.
        """
        lay = self.layer(key or self.selected)
        if lay is None or self.photo is None:
            return False
        if not lay.visible or not lay.drawable:
            self.error("Show the variant before accepting it: only what is visible is baked in.")
            return False
        layer, opacity, photo = lay.variant.layer, lay.opacity, self.photo
        assert layer is not None  # drawable
        x0, y0, x1, y1 = layer.box
        before = photo.rgb[y0:y1, x0:x1].copy()

        def bake() -> tuple[np.ndarray, np.ndarray]:
            patch = before.copy()
            blend_into(patch, type(layer)(0, 0, layer.rgb, layer.alpha), opacity)
            full = photo.rgb.copy()  # the new working image, made here, not on the GUI thread
            full[y0:y1, x0:x1] = patch
            return patch, full

        after, full = await asyncio.to_thread(bake)
        if self.photo is not photo or self.layer(lay.key) is not lay:
            return False  # the document changed meanwhile
        removed: list = []
        box = layer.box
        # the arrays either side of this step, kept weakly: while they live (jobs keep theirs),
        # redo and undo swap them instead of copying the whole image on the GUI thread
        ends = {"before": weakref.ref(photo.rgb), "after": weakref.ref(full)}
        first = [full]

        summary = self._layer_summary(lay) | {"box": list(box)}

        def step(frm: str, to: str, patch: np.ndarray, ready: np.ndarray | None) -> None:
            """Go from the image ``ends[frm]`` to ``ends[to]``: swap in ``ready`` (that end,
            while it lives) when the image is still ``frm``'s, else write ``patch`` in the box."""
            assert self.photo is not None
            if ready is not None and self.photo.rgb is ends[frm]():
                self.photo = replace(self.photo, rgb=ready)
                self.emit(Change(Change.IMAGE, rect=box))
            else:
                self._write_rgb(box, patch)
                assert self.photo is not None
                ends[to] = weakref.ref(self.photo.rgb)

        def redo() -> None:
            step("before", "after", after, first.pop() if first else ends["after"]())
            self.accepted.append((box, after))
            self.extra.setdefault("accepted_layers", []).append(summary)
            removed[:] = self._remove_layers({lay.key})

        def undo() -> None:
            step("after", "before", before, ends["before"]())
            if self.accepted and self.accepted[-1][1] is after:
                self.accepted.pop()
            done = self.extra.get("accepted_layers")
            if isinstance(done, list) and done and done[-1] is summary:
                done.pop()
            self._restore_layers(removed, lay.key)

        self.undo.push(FunctionCommand("Accept variant", redo, undo))
        return True

    async def expand(self, pad: tuple[int, int, int, int], prepare: Callable | None = None) -> bool:
        """Expand the canvas by ``pad`` (left, top, right, bottom, pixels), undoably: the
        working image at its offset, bit-identical, a pre-filled margin, and the margin as the
        mask (:mod:`~inpaint_studio.core.expand`). Generate then outpaints it like any edit.

        Refused, with an ``ERROR`` change, while variants are shown as layers (they belong to
        the current size) or jobs run. ``prepare(photo, mask)`` runs in the same worker thread
        once the new canvas exists (a view builds what it needs to show it there).

        Raises:
            InvalidInput: a pad that adds nothing or makes the canvas too large.
        """
        from .expand import expand_photo

        if self.photo is None or self.mask is None:
            return False
        if self.layers:
            self.error(
                "Accept or discard the variants before expanding the canvas: they belong to its current size."
            )
            return False
        if any(j.is_active for j in self.runner.jobs.values()):
            self.error("Wait for the running jobs (or cancel them) before expanding the canvas.")
            return False
        old = (
            self.photo,
            self.mask,
            self.mask_alpha,
            list(self.accepted),
            self.photo_path,
            dict(self.extra),
        )

        def work():
            photo, mask = expand_photo(old[0], pad)
            if prepare is not None:
                prepare(photo, mask)
            return photo, mask

        photo, mask = await asyncio.to_thread(work)
        if self.photo is not old[0] or self.layers:
            return False  # the document changed meanwhile
        w, h = old[0].size
        path = old[4].with_name(f"{old[4].stem}-expanded.png") if old[4] else None
        extra = dict(old[5]) | {"expanded": {"from": [w, h], "pad": list(pad)}}

        def put(state) -> None:
            self.photo, self.mask, self.mask_alpha, accepted, self.photo_path, extra_ = state
            self.accepted, self.extra = list(accepted), dict(extra_)
            self.mask_version += 1
            self.unsaved = True
            self._notify(Change(Change.STATUS))
            self._notify(Change(Change.DOCUMENT, message="expanded"))

        stash: list = []  # layers made on the expanded canvas, set aside while it is undone

        def shift(dx: int, dy: int) -> None:  # every earlier job's canvas now lies at another place
            for job in self.jobs.values():
                if job.offset is not None:
                    job.offset = (job.offset[0] + dx, job.offset[1] + dy)

        def redo() -> None:
            shift(pad[0], pad[1])
            put((photo, mask, None, [], path, extra))
            if stash:
                self._restore_layers(stash, stash[-1][1].key)
                stash.clear()

        def undo() -> None:
            if self.layers:  # they belong to the expanded size: they come back with a redo
                stash[:] = self._remove_layers({lay.key for lay in self.layers})
            shift(-pad[0], -pad[1])
            put(old)

        self.undo.push(FunctionCommand("Expand canvas", redo, undo))
        return True

    def _write_rgb(self, box: Rect, patch: np.ndarray) -> None:
        """Replace a box of the working image with a new array (running jobs keep theirs)."""
        x0, y0, x1, y1 = box
        assert self.photo is not None
        rgb = self.photo.rgb.copy()
        rgb[y0:y1, x0:x1] = patch
        self.photo = replace(self.photo, rgb=rgb)
        self.emit(Change(Change.IMAGE, rect=box))

    async def reblend(
        self, key: str | None, feather: int, colour_match: bool, grain: bool | None = None
    ) -> bool:
        """Recompute a layer's edge feather (px) and colour match from its stored raw result."""
        lay = self.layer(key or self.selected)
        if lay is None:
            return False
        job, v = lay.job, lay.variant
        if job.prepared is None or (v.raw is None and v.raw_pixels is None):
            self.error("This variant has no stored raw result to re-blend.")
            return False

        def work():
            pixels = v.raw_pixels if v.raw_pixels is not None else load_image(v.raw).rgb
            return pixels, build_layer(
                job.request.photo.rgb,
                job.request.mask,
                job.prepared.region,
                pixels,
                feather=feather,
                colour_match=colour_match,
                strength=job.request.mask_alpha,
                grain=lay.grain if grain is None else grain,
            )

        pixels, layer = await asyncio.to_thread(work)
        v.layer = layer
        if v.raw is None:
            v.raw_pixels = pixels
        v.extra["feather"], v.extra["colour_match"] = feather, colour_match
        if grain is not None:
            v.extra["grain"] = bool(grain)
        self.emit(Change(Change.LAYER, key=lay.key, message="pixels"))
        return True

    @staticmethod
    def _layer_summary(lay: VariantLayer) -> dict:
        r = lay.job.request
        return {
            "name": lay.name,
            "provider": lay.job.provider.name,
            "prompt": r.prompt,
            "rendering_speed": r.rendering_speed.value,
            "seed": lay.variant.seed,
            "returned_prompt": lay.variant.prompt,
            "opacity": lay.opacity,
        }

    def export_metadata(self) -> dict:
        """What an exported composite embeds (JSON-able, no pixels, no keys): the source file,
        the edits accepted into the working image (oldest first) and the visible layers
        (bottom to top) with the parameters that made them."""
        from .output import variant_metadata

        accepted = self.extra.get("accepted_layers")
        return {
            "app": "Inpaint Studio",
            "source": str(self.photo_path) if self.photo_path else None,
            "accepted": list(accepted) if isinstance(accepted, list) else [],
            "layers": [
                variant_metadata(lay.job, lay.variant) | {"name": lay.name, "opacity": lay.opacity}
                for lay in self.layers
                if lay.visible and lay.drawable
            ],
        }

    def composite(self) -> np.ndarray:
        """``(H, W, 3) uint8``: the working image with the visible layers blended, bottom to
        top, at their opacity — exactly what the canvas shows (pixel work: use a thread)."""
        assert self.photo is not None, "open a photo first"
        out = self.photo.rgb.copy()
        for lay in self.layers:
            if lay.visible and lay.variant.layer is not None:
                blend_into(out, lay.variant.layer, lay.opacity)
        return out

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

    async def save(self, path: str | Path) -> Path:
        """Save the document as a ``.inpaint`` project (atomic); returns the path written.

        Raises:
            OSError: it could not be written (the previous file is intact).
        """
        from .persist import save

        return await save(self, Path(path))

    async def save_recovery(self) -> None:
        """Write the recovery copy now (waits for a save already running); never raises."""
        from .persist import save_recovery

        await save_recovery(self)

    def discard_recovery(self) -> None:
        """Delete this session's own recovery copy (after the user chose not to keep it)."""
        if self._recovery is not None:
            self._recovery.discard()
            self._recovery = None
        self.recorded.clear()

    def resume_remote(self) -> None:
        """Poll remote tasks (Magnific, 1min.ai) a restored job was still waiting for."""
        for job_id, job in list(self.jobs.items()):
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
            self.draft_of[new.id] = self.draft_of.pop(job_id, "") or f"resumed job #{job_id}"
            del self.jobs[job_id]
            self.jobs[new.id] = new
            self.emit(Change(Change.JOB, job=new))

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
        keep = (self.unsaved or self.has_remote_work) if keep_recovery is None else keep_recovery
        if keep and self.photo is not None:
            await self.save_recovery()
        else:
            self.discard_recovery()
        await self.runner.aclose()
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)

    # used by persist.install ---------------------------------------------------------------------

    def _install(
        self,
        photo: Photo,
        mask: np.ndarray,
        *,
        photo_path: Path | None,
        project_path: Path | None,
        accepted=(),
        parameters: dict | None = None,
        references: dict | None = None,
        extra: dict | None = None,
        restored: bool = False,
        mask_alpha: np.ndarray | None = None,
    ) -> None:
        self.discard_recovery()  # the previous document's copy: the user has answered by now
        # the user chose to leave that document: its jobs stop, except those a provider is
        # already working on (paid): they run to the end and their results go to the journal
        paid = {
            i: j
            for i, j in self.runner.jobs.items()
            if j.is_active and j.prepared and j.prepared.remote_tasks
        }
        for job in self.runner.jobs.values():
            if job.id not in paid:
                self.runner.cancel(job)
        self.runner.jobs = paid
        self._reset()
        self.photo, self.mask, self.mask_alpha = photo, mask, mask_alpha
        self.photo_path, self.project_path = photo_path, project_path
        self.accepted = list(accepted)
        self.parameters = dict(parameters or {})
        self.references = dict(references or {})
        self.extra = dict(extra or {})
        self.restored = restored
        self.undo.clear()
