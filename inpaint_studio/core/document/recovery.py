"""The recovery copy: written in the background after every change (:class:`Autosaver`),
at once when paid work starts, listed and restored after a crash (every leftover copy on
its own)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..formats.recovery_folder import RecoveryStore, orphaned_recoveries, recovery_root
from ..pipeline.protocol import Stage
from .model import RecoverySummary
from .persist import project_state

if TYPE_CHECKING:
    from .session import EditSession

_background = None


def background_executor():
    """One low-priority worker for recovery saves, so they never compete with the GUI thread
    or a job's pixel work for the CPU (Linux: nice 10 for that thread; elsewhere a plain one)."""
    global _background
    if _background is None:
        from concurrent.futures import ThreadPoolExecutor

        def lower_priority() -> None:
            import threading

            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
            except (AttributeError, OSError):
                pass

        _background = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="autosave", initializer=lower_priority
        )
    return _background


async def save_recovery(session: EditSession) -> None:
    if session.recovery_folder is None:
        return
    revision = session.revision
    state = project_state(session, for_recovery=True)
    if state is None:
        return
    async with session.recovery_lock:
        try:
            if session.recovery_store is None:
                session.recovery_store = RecoveryStore(session.recovery_folder)
            store: RecoveryStore = session.recovery_store
            await asyncio.get_running_loop().run_in_executor(
                background_executor(), store.save, state
            )
            session.recovery_revision = max(session.recovery_revision, revision)
        except OSError as exc:
            session.error(f"The recovery copy could not be saved: {exc.strerror or exc}.")


def list_recoveries(root: Path | None = None) -> list[RecoverySummary]:
    """Every recovery copy left by a run that is no longer running, newest first."""
    out = []
    for folder in orphaned_recoveries(root or recovery_root()):
        manifest_path = folder / "manifest.json"
        try:
            if manifest_path.stat().st_size > 50_000_000:
                raise ValueError
            m = json.loads(manifest_path.read_text("utf-8"))
            jobs = m.get("jobs") if isinstance(m.get("jobs"), list) else []
            done = (Stage.DONE, Stage.FAILED, Stage.CANCELLED)
            interrupted = sum(1 for j in jobs if isinstance(j, dict) and j.get("stage") not in done)
            project = m.get("project_path") if isinstance(m.get("project_path"), str) else None
            photo = m.get("photo") if isinstance(m.get("photo"), dict) else {}
            name = Path(project).name if project else str(photo.get("name") or "pasted image")
            out.append(
                RecoverySummary(
                    folder, name, manifest_path.stat().st_mtime, len(jobs), interrupted, project
                )
            )
        except (OSError, ValueError, AttributeError):
            out.append(RecoverySummary(folder, folder.name, time.time(), 0, 0, None, ["damaged"]))
    return out


def new_recovery_folder(session_id: str) -> Path:
    return recovery_root() / session_id


class LoopTimer:
    """A restartable single-shot timer on the asyncio loop (the default for :class:`Autosaver`;
    the editor passes a ``QTimer``-based one, since qasync's timers are not made for being
    started and cancelled on every keystroke)."""

    def __init__(self, callback) -> None:
        self.callback = callback
        self._handle: asyncio.TimerHandle | None = None

    def start(self, seconds: float) -> None:
        self.stop()
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return
        self._handle = loop.call_later(seconds, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self.callback()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class Autosaver:
    """Keeps the recovery copy current: ``delay`` s (1.5) after the last change of the
    document, and at once when a job is recorded (it has started uploading). Listens to the
    session's one :attr:`~inpaint_studio.core.document.session.EditSession.modified` signal.

    Args:
        timer: builds the timer from a callback: an object with ``start(seconds)`` and
            ``stop()`` (default :class:`LoopTimer`).
    """

    def __init__(self, session: EditSession, delay: float = 1.5, timer=None) -> None:
        self.session, self.delay = session, delay
        self.timer = (timer or LoopTimer)(self._fire)
        session.modified.connect(self._on_modified)

    def _on_modified(self, urgent: bool) -> None:
        self.timer.start(0.0 if urgent else self.delay)

    def _fire(self) -> None:
        s = self.session
        if s.doc.photo is not None and s.revision != s.recovery_revision:
            s.spawn(s.save_recovery())

    def cancel(self) -> None:
        self.timer.stop()
