"""The result journal: every result on disk the moment it arrives, before it is shown.

Each result is two files in the journal folder (``<data dir>/journal``): the provider's image
exactly as returned (``.png``/``.jpg``/``.webp``; the offline engine's as PNG) and a JSON
sidecar with its metadata: provider, parameters, seed, returned prompt, what was sent, the
region, time and source photo. Both are written atomically, so a crash leaves either the
whole entry or none of it. Result links expire; the journal does not.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_write
from ..pipeline.params import to_json
from ..textsafe import clean_json
from .output import encode_png, file_extension


@dataclass(frozen=True)
class JournalEntry:
    """One journalled result: ``image`` and ``meta`` paths, ``time`` (epoch s), ``bytes`` on disk."""

    image: Path
    meta: Path
    time: float
    bytes: int

    def metadata(self) -> dict:
        try:
            return json.loads(self.meta.read_text("utf-8"))
        except (OSError, ValueError):
            return {}


class Journal:
    """The journal folder. Thread-safe for writers (unique names, atomic writes)."""

    def __init__(self, root: Path, session: str | None = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        #: identifies the program run, so a restored session finds its own results
        self.session = session

    def record(self, job, index: int, raw) -> Path:
        """Write one result of ``job`` (its ``index``-th ``RawVariant``); returns the image's path.

        Runs file I/O: call it off the GUI thread.
        """
        if raw.data is None:  # the offline engine's pixels: the PNG becomes the result's file
            raw.data = encode_png(raw.pixels)
        data = raw.data
        stamp = time.strftime("%Y%m%d-%H%M%S")
        stem = f"{stamp}-{job.provider.name}-job{job.id}-{index + 1}-{uuid.uuid4().hex[:8]}"
        image = self.root / f"{stem}.{file_extension(data)}"
        region = job.prepared.region if job.prepared else None
        meta = {
            "session": self.session,
            "job": job.id,
            "provider": job.provider.name,
            "provider_label": job.provider.label,
            "parameters": to_json(job.request),
            "index": index,
            "seed": raw.seed,
            "returned_prompt": raw.prompt,
            "resolution": raw.resolution,
            "style_type": raw.style_type,
            "url": raw.url,
            "sent": job.sent,
            "region": [region.x0, region.y0, region.x1, region.y1] if region else None,
            "time": time.time(),
            "source": str(job.request.photo.path) if job.request.photo.path else None,
            "extra": raw.extra,
        }
        meta = clean_json(meta)  # no key, no escape sequence from a provider reaches the disk
        atomic_write(image, data)
        atomic_write(
            image.with_suffix(".json"), json.dumps(meta, indent=2, ensure_ascii=False).encode()
        )
        return image

    # -- paid work still running at a provider -----------------------------------------------

    @property
    def pending_dir(self) -> Path:
        return self.root / "pending"

    @staticmethod
    def _pending_name(provider: str, task_id: str) -> str:
        import hashlib

        # never a path built from a provider's data: a digest of it
        return hashlib.sha256(f"{provider}\0{task_id}".encode()).hexdigest()[:24] + ".json"

    def record_pending(self, job, **extra) -> None:
        """Keep every remote task of ``job`` (a paid generation or task) durably until its
        results are journaled (:meth:`clear_pending`): ``inpaint-studio resume`` lists them
        and composites them again onto the photo. ``extra``: what it needs for that (base URL,
        the photo's and mask's local paths); this file stays on this machine. Atomic, fsynced
        writes; runs file I/O."""
        if job.prepared is None:
            return
        region = job.prepared.region
        self.pending_dir.mkdir(parents=True, exist_ok=True)
        options = {
            k: getattr(job.provider, k)
            for k in job.provider.description.option_names
            if isinstance(getattr(job.provider, k, None), str)
        }
        for t in job.prepared.remote_tasks:
            meta = clean_json(
                {
                    "provider": t.provider,
                    "task_id": t.task_id,
                    "seed": t.seed,
                    "label": job.provider.label,
                    "options": options,
                    "prompt": job.request.prompt[:200],
                    "parameters": to_json(job.request),
                    "region": [region.x0, region.y0, region.x1, region.y1]
                    + [region.send_width, region.send_height, region.mode.value],
                    "time": time.time(),
                }
                | extra
            )
            atomic_write(
                self.pending_dir / self._pending_name(t.provider, t.task_id),
                json.dumps(meta, ensure_ascii=False).encode(),
            )

    def clear_pending(self, provider: str, task_id: str) -> None:
        """Forget a remote task whose results arrived (or that failed unbilled)."""
        (self.pending_dir / self._pending_name(provider, task_id)).unlink(missing_ok=True)

    def pending(self) -> list[dict]:
        """Every remote task kept by :meth:`record_pending` and not yet cleared, oldest first
        (untrusted files: entries without a provider and a task id are skipped)."""
        from ..pipeline.protocol import RemoteTask

        out: list[dict] = []
        if not self.pending_dir.is_dir():
            return out
        for f in self.pending_dir.glob("*.json"):
            try:
                if f.stat().st_size > 100_000:
                    continue
                meta = json.loads(f.read_text("utf-8"))
            except (OSError, ValueError):
                continue
            task = RemoteTask.from_json(meta)
            if task is not None and isinstance(meta, dict):
                out.append(meta | {"task": task})

        def when(m: dict) -> float:
            t = m.get("time")
            return float(t) if isinstance(t, int | float) else 0.0

        return sorted(out, key=when)

    def entries(self) -> list[JournalEntry]:
        """Every entry, newest first."""
        out = []
        for meta in self.root.glob("*.json"):
            images = [
                p
                for p in meta.parent.glob(meta.stem + ".*")
                if p.suffix != ".json" and not p.name.startswith(".")
            ]
            if not images:
                continue
            st = images[0].stat()
            out.append(JournalEntry(images[0], meta, st.st_mtime, st.st_size + meta.stat().st_size))
        return sorted(out, key=lambda e: e.time, reverse=True)

    def total_bytes(self) -> int:
        return sum(e.bytes for e in self.entries())

    def clear_older_than(self, days: float) -> int:
        """Delete entries older than ``days``; returns how many were deleted."""
        limit = time.time() - days * 86400
        n = 0
        for e in self.entries():
            if e.time < limit:
                e.image.unlink(missing_ok=True)
                e.meta.unlink(missing_ok=True)
                n += 1
        return n

    def for_job(self, session: str, job_id: int) -> list[tuple[JournalEntry, dict]]:
        """The entries one job of one session wrote, oldest first, with their metadata."""
        out = []
        for e in self.entries():
            meta = e.metadata()
            if meta.get("session") == session and meta.get("job") == job_id:
                out.append((e, meta))
        return sorted(out, key=lambda em: em[1].get("index", 0))


def default_journal(session: str | None = None) -> Journal:
    from ..settings import data_dir

    return Journal(data_dir() / "journal", session)
