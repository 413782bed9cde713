"""The Qt-free asyncio job runner: prepare → upload → wait → download → composite → done.

The runner owns its tasks (strong references), so a GUI slot only calls :meth:`JobRunner.submit`.
Every failure becomes the job's state (``job.error``); no exception escapes to the event
loop. Pixel work runs in ``asyncio.to_thread``. Each provider has a concurrency limit.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np

from ..errors import AllWithheldError, DownloadError, InpaintError, JobCancelledError, ProviderError
from ..events import Signal
from ..pixels.imaging import header_size, load_image
from .composite import Layer, build_layer
from .context import Region
from .net import download_image, is_loopback
from .params import check
from .prepare import prepare
from .protocol import Prepared, Provider, Quote, RawVariant, RemoteTask, Stage, table_quote
from .request import (
    DRAFT_QUALITIES,
    EditRequest,
    GrainMode,
    Quality,
    RenderingSpeed,
)

#: Default number of jobs running at once per provider.
DEFAULT_CONCURRENCY = 2


@dataclass(eq=False)
class Variant:
    """One result of a job, ready to show as a layer.

    Attributes:
        index: position in the job's answer (0-based).
        safe: False when withheld by the provider's safety filter (no layer then).
        layer: the composited layer (mask's bounding box only), or None.
        raw: the provider's image file as returned (bytes), or None.
        raw_pixels: ``(h, w, 3) uint8`` provider image when there is no file (offline engine
            without a journal); otherwise None and decoded from ``raw`` when needed.
        seed, prompt, resolution, style_type: as the provider reported them.
    """

    index: int
    safe: bool
    layer: Layer | None = None
    raw: bytes | None = None
    raw_pixels: np.ndarray | None = None
    seed: int | None = None
    prompt: str | None = None
    resolution: str | None = None
    style_type: str | None = None
    extra: dict = field(default_factory=dict)


_ids = itertools.count(1)


def cancelled_sentence(job: Job) -> str:
    """What a cancel means for the bill: nothing was sent, or the request had reached the
    provider and may still run and be billed (its remote work named with its command)."""
    if not job.provider.capabilities.uploads:
        return "The job was cancelled; it ran on this computer, so nothing was billed."
    if job.stage in (Stage.QUEUED, Stage.PREPARING, Stage.UPLOADING):
        return "The job was cancelled before its request reached the provider; nothing was billed."
    tasks = job.prepared.remote_tasks if job.prepared is not None else []
    kept = "; ".join(f"`inpaint-studio resume {t.task_id} --provider {t.provider}`" for t in tasks)
    return (
        f"The job was cancelled after its request reached {job.provider.label}, which may "
        "still run it and bill it"
        + (f"; its results can still be fetched with {kept}." if kept else ".")
    )


def reserve_ids(highest: int) -> None:
    """Make new job ids start above ``highest`` (after restoring an earlier session's jobs)."""
    global _ids
    nxt = next(_ids)
    _ids = itertools.count(max(nxt, highest + 1))


@dataclass(eq=False)
class Job:
    """A submitted edit and everything known about it so far.

    Attributes:
        stage: a :class:`~inpaint_studio.core.pipeline.protocol.Stage` value.
        done, total: progress within the stage (bytes while uploading, images otherwise).
        variants: the results, withheld ones included.
        sent: what was sent (region, file format, size, bytes).
        error: the failure, with its user sentence, when ``stage`` is failed.
        notes: things the user should know (e.g. "the offline engine ignores the prompt").
    """

    request: EditRequest
    provider: Provider
    id: int = field(default_factory=lambda: next(_ids))
    stage: str = Stage.QUEUED
    done: int | None = None
    total: int | None = None
    variants: list[Variant] = field(default_factory=list)
    prepared: Prepared | None = None
    error: InpaintError | None = None
    notes: list[str] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    task: asyncio.Task | None = field(default=None, repr=False)
    sent_info: dict | None = None
    #: where the top-left corner of the canvas the job was made on (its mask's size) lies on
    #: the document's canvas now, pixels; Expand moves it, None when unknown
    offset: tuple[int, int] | None = (0, 0)

    @property
    def provider_name(self) -> str:
        return self.provider.name

    @property
    def setting(self) -> str:
        """What the job ran at: its rendering speed (``TURBO``), or for a model with qualities
        (Ideogram 4.x) its quality (``medium`` when not set)."""
        if self.provider.capabilities.rendering_speed:
            return self.request.rendering_speed.value
        return (self.request.quality or Quality.MEDIUM).value

    @property
    def is_draft(self) -> bool:
        """A fast draft a final can be rendered from: TURBO/FLASH, or very_low/low quality."""
        if self.provider.capabilities.rendering_speed:
            return self.request.rendering_speed in (RenderingSpeed.TURBO, RenderingSpeed.FLASH)
        return self.request.quality in DRAFT_QUALITIES

    def cost(self) -> Quote:
        """What the job cost: what the provider reported (Ideogram v2's
        ``usage_cost_usd_micros``: exact), else its price table for the images asked (an
        estimate; ``usd`` None when the provider publishes no price). Free offline."""
        if not self.provider.capabilities.uploads:
            return Quote(0.0, True, "offline", "runs on this computer")
        reported = [v.extra.get("cost_usd") for v in self.variants]
        costs = [float(c) for c in reported if isinstance(c, int | float)]
        if costs and len(costs) == len(reported):
            return Quote(sum(costs), True, f"{len(reported)} images", "reported by the provider")
        table = getattr(self.provider, "price_table", None)
        return table_quote(
            self.provider.label, table(self.request) if table else None, self.request.num_images
        )

    @property
    def elapsed(self) -> float:
        """Seconds since the job started (to its end once finished)."""
        if self.started is None:
            return 0.0
        return (self.finished or time.time()) - self.started

    @property
    def finished_ok(self) -> bool:
        return self.stage == Stage.DONE

    @property
    def is_active(self) -> bool:
        return self.stage not in (Stage.DONE, Stage.FAILED, Stage.CANCELLED, Stage.INTERRUPTED)

    @property
    def sent(self) -> dict:
        if self.sent_info is not None:
            return self.sent_info
        return self.prepared.describe() if self.prepared else {}


Listener = Callable[[Job], None]


#: seconds between two announcements of progress within one stage (a progress bar's rate)
PROGRESS_INTERVAL = 0.1


class JobRunner:
    """Runs jobs on the current asyncio loop.

    Args:
        client: the shared ``httpx.AsyncClient`` used for result downloads.
        concurrency: jobs at once per provider.
        listener: called (on the loop's thread) after every change of a job.
        journal: a :class:`~inpaint_studio.core.formats.journal.Journal`; every result is written to
            it as soon as it is downloaded, before it is composited or shown.
        persist_tasks: ``await persist_tasks(job)`` writes a job's remote task ids durably;
            providers call it after each task they create (paid work survives a kill -9).
    """

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        listener: Listener | None = None,
        journal=None,
        persist_tasks: Callable[[Job], Awaitable[None]] | None = None,
    ) -> None:
        self.client = client
        self.journal = journal
        self.persist_tasks = persist_tasks
        self.concurrency = concurrency
        #: fires with the job after every change of a job (on the loop's thread)
        self.changed: Signal[Job] = Signal()
        if listener is not None:
            self.changed.connect(listener)
        self.jobs: dict[int, Job] = {}
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._announced: dict[int, float] = {}  # job id -> when progress was last announced

    # -- public API ---------------------------------------------------------------------

    def submit(
        self, request: EditRequest, provider: Provider, prepared: Prepared | None = None
    ) -> Job:
        """Validate and start a job; returns at once.

        Args:
            prepared: the result of :func:`prepare` for exactly this request and provider
                kind, when the caller already has it (the editor's "what will be sent"
                preview); the job then skips its own preparing.

        Raises:
            ValidationError: the request breaks a rule or asks the provider for something it
                cannot do (nothing is sent).
        """
        check(request, provider.capabilities, provider.label)
        job = Job(request=request, provider=provider, prepared=prepared)
        job.notes.extend(provider.notes(request))
        self.jobs[job.id] = job
        job.task = asyncio.get_running_loop().create_task(self._run(job), name=f"job-{job.id}")
        self._emit(job)
        return job

    def resume(
        self,
        request: EditRequest,
        provider: Provider,
        region: Region,
        remote_tasks: list[RemoteTask],
    ) -> Job:
        """Resume polling remote tasks of an earlier session (no upload; nothing is re-billed).

        ``provider`` must have ``resume(remote_tasks, report) -> list[RawVariant]``.
        """
        job = Job(request=request, provider=provider)
        empty = np.zeros((0, 0), bool)
        job.prepared = Prepared(
            region, np.zeros((0, 0, 3), np.uint8), empty, remote_tasks=list(remote_tasks)
        )
        job.sent_info = region.describe()
        self.jobs[job.id] = job
        job.task = asyncio.get_running_loop().create_task(
            self._run(job, resumed=True), name=f"job-{job.id}"
        )
        self._emit(job)
        return job

    async def wait(self, job: Job) -> Job:
        """Wait for ``job`` to end (never raises; see ``job.error``)."""
        if job.task is not None:
            await asyncio.wait({job.task})
        return job

    def cancel(self, job: Job) -> None:
        """Cancel ``job`` at whatever stage it is."""
        if job.task is not None and not job.task.done():
            job.task.cancel()
            if job.started is None:  # it never ran, so its own clean-up never will
                job.error = JobCancelledError(cancelled_sentence(job))
                job.finished = time.time()
                self._set(job, Stage.CANCELLED)

    async def aclose(self) -> None:
        """Cancel every running job and wait for them to end."""
        tasks = [j.task for j in self.jobs.values() if j.task and not j.task.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks)

    # -- internals ----------------------------------------------------------------------

    def _emit(self, job: Job) -> None:
        self.changed.emit(job)  # a broken listener is reported and does not break the job

    def _set(self, job: Job, stage: str, done: int | None = None, total: int | None = None) -> None:
        """Move ``job`` on and announce it: every new stage, and progress within a stage at
        most every :data:`PROGRESS_INTERVAL` seconds (and when it completes); a report that
        changes nothing is not announced."""
        same_stage = job.stage == stage and job.total == total
        if same_stage and job.done == done:
            return
        job.stage, job.done, job.total = stage, done, total
        now = time.monotonic()
        if (
            same_stage
            and done != total
            and now - self._announced.get(job.id, 0.0) < PROGRESS_INTERVAL
        ):
            return
        self._announced[job.id] = now
        self._emit(job)

    def _limit(self, name: str) -> asyncio.Semaphore:
        if name not in self._limits:
            self._limits[name] = asyncio.Semaphore(self.concurrency)
        return self._limits[name]

    async def _run(self, job: Job, resumed: bool = False) -> None:
        job.started = time.time()
        try:
            await (self._resumed_pipeline(job) if resumed else self._pipeline(job))
        except asyncio.CancelledError:
            job.error = JobCancelledError(cancelled_sentence(job))
            job.finished = time.time()
            self._set(job, Stage.CANCELLED)
            return
        except InpaintError as exc:
            job.error = exc
            job.finished = time.time()
            self._set(job, Stage.FAILED)
            return
        except (
            Exception
        ) as exc:  # a bug: reported on the job with a crash report, never lost in the loop
            from ..crash import write_crash_report

            report = write_crash_report(exc)
            job.error = InpaintError(
                f"Something went wrong inside Inpaint Studio while running this job with "
                f"{job.provider.label}; a report was written to {report}.",
                details=traceback.format_exc(),
            )
            job.finished = time.time()
            self._set(job, Stage.FAILED)
            return
        job.finished = time.time()
        self._set(job, Stage.DONE)

    async def _pipeline(self, job: Job) -> None:
        request, provider = job.request, job.provider
        async with self._limit(provider.name):
            self._set(job, Stage.PREPARING)
            if job.prepared is None:
                job.prepared = await asyncio.to_thread(
                    prepare,
                    request,
                    uploads=provider.capabilities.uploads,
                    answer_sizes=provider.capabilities.answer_sizes,
                    max_region_pixels=provider.capabilities.max_region_pixels,
                    upload_limit=provider.capabilities.upload_limit,
                )
            prepared = job.prepared
            if self.persist_tasks is not None:
                prepared.persist = lambda: self.persist_tasks(job)

            def report(stage: str, done: int | None, total: int | None) -> None:
                self._set(job, stage, done, total)

            if provider.capabilities.uploads:
                self._set(
                    job,
                    Stage.UPLOADING,
                    0,
                    len(prepared.encoded.data) if prepared.encoded else None,
                )
            else:
                self._set(job, Stage.WAITING)
            raws = await provider.generate(request, prepared, report)
            job.sent_info = prepared.describe()
            raws = self._bounded(job, raws, request.num_images)
            raws = await self._fetch_and_journal(job, raws)
        await self._finish(job, raws)

    async def _resumed_pipeline(self, job: Job) -> None:
        provider = job.provider
        async with self._limit(provider.name):
            self._set(job, Stage.WAITING)

            def report(stage: str, done: int | None, total: int | None) -> None:
                self._set(job, stage, done, total)

            assert job.prepared is not None  # a resumed job is made with its region and tasks
            raws = await provider.resume(job.prepared.remote_tasks, report)
            raws = self._bounded(
                job, raws, max(job.request.num_images, len(job.prepared.remote_tasks))
            )
            raws = await self._fetch_and_journal(job, raws)
        await self._finish(job, raws)

    @staticmethod
    def _bounded(job: Job, raws: list[RawVariant], wanted: int) -> list[RawVariant]:
        """At most the number of images asked for (a provider that answers 300 results for
        one is not believed); the provider's notes join the job's."""
        if job.prepared is not None:
            job.notes.extend(n for n in job.prepared.notes if n not in job.notes)
        if len(raws) > wanted:
            job.notes.append(
                f"{job.provider.label} answered {len(raws)} results for {wanted} requested; "
                f"only the first {wanted} were kept."
            )
            return raws[:wanted]
        return raws

    async def _fetch_and_journal(self, job: Job, raws: list[RawVariant]) -> list[RawVariant]:
        """Download every result and journal each the moment it arrives, whatever happens to
        its siblings. Returns the results that can be shown (withheld ones included).

        Raises:
            DownloadError: no result could be downloaded (the first failure's sentence).
        """
        failures = await self._download(job, raws)
        if self.journal is not None:
            for i, raw in enumerate(raws):
                if (
                    raw.safe
                    and (raw.data is not None or raw.pixels is not None)
                    and "journal" not in raw.extra
                ):
                    await self._journal(job, i, raw)
        if not failures:
            return raws
        arrived = [r for r in raws if r.safe and r.pixels is not None]
        missing = len(failures)
        total = missing + len(arrived)
        if not arrived:
            first = failures[0]
            if isinstance(first, InpaintError):
                if total > 1:
                    first.message = (
                        f"None of the {total} results could be downloaded: {first.message}"
                    )
                raise first
            raise first
        kept = [Path(r.extra["journal"]) for r in arrived if r.extra.get("journal")]
        kept = [p for p in kept if p.is_file()]  # said only of files that exist
        where = (
            f"; they are kept in the result journal: {', '.join(str(p) for p in kept)}"
            if kept
            else ""
        )
        job.notes.append(
            f"{len(arrived)} of {total} results arrived{where}; the other {missing} could not be "
            f"downloaded ({str(failures[0]).rstrip('.')})."
        )
        return [r for r in raws if not r.safe or r.pixels is not None]

    async def _journal(self, job: Job, index: int, raw: RawVariant) -> None:
        try:
            path = await asyncio.to_thread(self.journal.record, job, index, raw)
        except OSError as exc:  # a full or read-only disk must not cost the result itself
            note = (
                f"A result could not be written to the result journal ({exc.strerror or exc}); "
                "save the project to keep it."
            )
            if note not in job.notes:
                job.notes.append(note)
            return
        raw.extra["journal"] = str(path)

    async def _finish(self, job: Job, raws: list[RawVariant]) -> None:
        provider = job.provider
        self._set(job, Stage.COMPOSITING, 0, len(raws))
        job.variants = await asyncio.to_thread(self._composite_all, job, raws)
        if raws and not any(v.safe for v in job.variants):
            raise AllWithheldError(
                f"{provider.label}'s safety filter withheld every variant; try another prompt or mask."
            )
        if not raws:
            raise ProviderError(f"{provider.label} returned no image.")

    async def _download(self, job: Job, raws: list[RawVariant]) -> list[BaseException]:
        """Download every pending result; each is journaled as soon as it arrives. Returns the
        failures (a failed sibling never costs the images that did arrive)."""
        pending = [r for r in raws if r.safe and r.pixels is None]
        if not pending:
            return []
        if self.client is None and any(r.data is None for r in pending):
            raise DownloadError("No HTTP client is available to download the results.")
        done = 0
        self._set(job, Stage.DOWNLOADING, 0, len(pending))
        base = getattr(job.provider, "base_url", "") or ""
        allow_loopback = is_loopback(urlsplit(base).hostname or "")
        cap = self._pixel_cap(job)

        async def one(raw: RawVariant) -> None:
            nonlocal done
            if raw.data is not None:
                w, h = header_size(raw.data)
                if w * h > cap:
                    raise DownloadError(
                        f"A result image is {w}×{h} pixels, far larger than what was sent; "
                        "it was not decoded."
                    )
                raw.pixels = (await asyncio.to_thread(load_image, raw.data)).rgb
            else:
                assert raw.url is not None and self.client is not None
                raw.data, raw.pixels = await download_image(
                    self.client, raw.url, allow_loopback=allow_loopback, max_pixels=cap
                )
            if self.journal is not None:
                await self._journal(job, raws.index(raw), raw)
            done += 1
            self._set(job, Stage.DOWNLOADING, done, len(pending))

        results = await asyncio.gather(*(one(r) for r in pending), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        for f in failures:
            if not isinstance(f, Exception):  # cancellation: the job ends
                raise f
        for raw, result in zip(pending, results, strict=True):
            if isinstance(result, BaseException):
                raw.pixels = None
        return failures

    @staticmethod
    def _pixel_cap(job: Job) -> int:
        """Most pixels one answer may have: 4× what was sent (at least 16.7 MP; models answer at
        about the sent size or near 1 MP), never over the photo limit."""
        from ..pixels.imaging import MAX_PIXELS

        sent = job.prepared.encoded if job.prepared is not None else None
        sent_px = sent.width * sent.height if sent is not None else 0
        if sent_px == 0 and job.prepared is not None:
            sent_px = job.prepared.region.send_width * job.prepared.region.send_height
        return min(MAX_PIXELS, max(16_777_216, 4 * sent_px))

    @staticmethod
    def _composite_all(job: Job, raws: list[RawVariant]) -> list[Variant]:
        req = job.request
        assert job.prepared is not None
        out = []
        fits = req.mask.shape == req.photo.rgb.shape[:2]
        if not fits:  # a resumed job of the canvas before an Expand: its files stay in the journal
            job.notes.append(
                "These results were made for the canvas before it was expanded; they are kept in the "
                "result journal (File ▸ Result journal), not as layers."
            )
        for i, raw in enumerate(raws):
            layer = None
            if raw.safe and raw.pixels is not None and fits:
                layer = build_layer(
                    req.photo.rgb,
                    req.mask,
                    job.prepared.region,
                    raw.pixels,
                    feather=req.feather,
                    colour_match=req.colour_match,
                    strength=req.mask_alpha,
                    grain=req.grain is GrainMode.AUTO,
                    feather_mode=req.feather_mode,
                )
            out.append(
                Variant(
                    index=i,
                    safe=raw.safe,
                    layer=layer,
                    raw=raw.data,
                    # the file is kept; its pixels are decoded again only to re-blend (saves ~3 MB a variant)
                    raw_pixels=raw.pixels if raw.data is None else None,
                    seed=raw.seed,
                    prompt=raw.prompt,
                    resolution=raw.resolution,
                    style_type=raw.style_type,
                    extra=dict(raw.extra),
                )
            )
        return out
