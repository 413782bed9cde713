"""Batch: one job per photo, run concurrently under the provider's in-flight limit (Qt-free).

Ideogram counts images in flight per organisation, 10 by default, and refuses a request that
would pass it with ``429 inflight_limit`` (not billed; shared/docs/providers.md). The batch
keeps an additive-increase / multiplicative-decrease window of images in flight: it starts at
the provider's declared limit, halves when a 429 ``inflight_limit`` gets through (the photo is
queued again, never reported as failed), and grows back by one image per success. Every
result reaches the result journal before an output is written; a re-run skips photos whose
outputs (sidecars with the same source and parameters) are already in the output folder.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InpaintError, RateLimitedError


class InflightWindow:
    """How many images may be in flight at once (AIMD). ``acquire(n)`` waits for room."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.size = self.limit
        self.used = 0
        self._cond = asyncio.Condition()
        self._wakers: set[asyncio.Task] = set()

    async def acquire(self, n: int) -> None:
        """Wait until ``n`` more images fit (a request larger than the window runs alone)."""
        async with self._cond:
            await self._cond.wait_for(lambda: self.used == 0 or self.used + n <= self.size)
            self.used += n

    async def release(self, n: int, *, ok: bool) -> None:
        async with self._cond:
            self.used -= n
            if ok:
                self.size = min(self.limit, self.size + 1)
            self._cond.notify_all()

    def release_soon(self, n: int, *, ok: bool) -> None:
        """:meth:`release` from a plain callback (a job listener) on the loop's thread."""
        task = asyncio.ensure_future(self.release(n, ok=ok))
        self._wakers.add(task)
        task.add_done_callback(self._wakers.discard)

    async def shrink(self, server_limit: int | None = None) -> None:
        """A 429 ``inflight_limit`` got through: halve the window (or take the server's)."""
        async with self._cond:
            self.size = max(1, min(self.size // 2, server_limit or self.size))
            self._cond.notify_all()


@dataclass
class BatchItem:
    """One photo of a batch and what became of it.

    Attributes:
        photo: its path. mask: the mask file used.
        status: ``pending``, ``running``, ``done``, ``skipped`` (done by an earlier run) or
            ``failed``. outputs: written files. error: the failure's sentence.
    """

    photo: Path
    mask: Path | None
    status: str = "pending"
    outputs: list[str] = field(default_factory=list)
    error: str | None = None
    exit_code: int = 0
    attempts: int = 0


def done_before(out_dir: Path, photo: Path, parameters: dict) -> list[str]:
    """Outputs an earlier run wrote for ``photo`` with these ``parameters`` (sidecars in
    ``out_dir`` naming it, by file name, as their source), or ``[]``. The seed is not compared when random."""
    want = {k: v for k, v in parameters.items() if k != "seed" or v is not None}
    found: list[str] = []
    for sidecar in sorted(out_dir.glob(f"{photo.stem}-edit-*.json")):
        try:
            meta = json.loads(sidecar.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        # sidecars name their source by its file name (never a folder); older ones in full
        if not isinstance(meta, dict) or meta.get("source") not in (photo.name, str(photo)):
            continue
        given = meta.get("parameters")
        params: dict = given if isinstance(given, dict) else {}
        if all(params.get(k) == v for k, v in want.items() if k != "seed"):
            png = sidecar.with_suffix(".png")
            if png.exists():
                found.append(str(png))
    return found


#: Job stages at which the provider has answered: its images are no longer in flight.
ANSWERED = frozenset({"downloading", "compositing", "done", "failed", "cancelled", "interrupted"})


async def run_batch(
    items: list[BatchItem],
    make_job: Callable,
    write: Callable,
    window: InflightWindow,
    images: int,
    on_change: Callable[[], None] = lambda: None,
    max_attempts: int = 6,
) -> None:
    """Run every pending item: ``make_job(item, answered)`` → an awaitable finished
    :class:`~inpaint_studio.core.pipeline.jobs.Job`, calling ``answered()`` as soon as the provider has
    answered (its stage reaches one of :data:`ANSWERED`: downloads and compositing need no
    slot); ``write(item, job)`` writes its outputs. At most ``window`` images are in flight; a
    429 ``inflight_limit`` shrinks the window and queues the photo again (up to
    ``max_attempts``). Failures are recorded on the item, never raised."""

    async def one(item: BatchItem) -> None:
        while True:
            await window.acquire(images)
            item.status, item.attempts = "running", item.attempts + 1
            on_change()
            held = [True]

            def answered(ok: bool = True, held: list = held) -> None:
                if held[0]:
                    held[0] = False
                    window.release_soon(images, ok=ok)

            try:
                job = await make_job(item, answered)
                if (
                    isinstance(job.error, RateLimitedError)
                    and job.error.reject_reason == "inflight_limit"
                    and item.attempts < max_attempts
                ):
                    answered(False)
                    await window.shrink(getattr(job.error, "max_inflight", None))
                    item.status = "pending"
                    continue
                answered(job.error is None)
                if job.error is not None:
                    raise job.error
                item.outputs = await write(item, job)
                item.status = "done"
            except InpaintError as exc:
                item.status, item.error, item.exit_code = "failed", str(exc), exc.exit_code
            finally:
                if held[0]:
                    held[0] = False
                    await window.release(images, ok=False)
                on_change()
            return

    await asyncio.gather(*(one(i) for i in items if i.status == "pending"))
