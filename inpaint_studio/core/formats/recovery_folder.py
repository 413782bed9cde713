"""A crash's recovery copy on disk: a project folder rewritten in place, only the files that
changed (:class:`RecoveryStore`), one folder per running program, and the folders of
programs no longer running (:func:`orphaned_recoveries`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..atomic import atomic_write
from .project import (
    ProjectState,
    _fingerprint,
    files_of,
)


class RecoveryStore:
    """The recovery copy of the working state: the project layout in a folder.

    Files that never change (original, accepted edits, job masks, layers, raw results) are
    written once; the mask files when the mask changed (a new snapshot array, see
    :meth:`~inpaint_studio.core.document.session.EditSession.mask_snapshot`), the manifest every time
    and last, each atomically. A ``kill -9`` at any moment leaves the last complete manifest pointing at
    files that exist.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._masks: dict[
            str, tuple | None
        ] = {}  # mask file -> fingerprint of what was last written to it
        self._objects: dict[
            str, object
        ] = {}  # photo / accepted file -> the very object last written to it
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "pid").write_text(str(os.getpid()))

    def save(self, state: ProjectState) -> None:
        """Write what changed (file work: run in a thread).

        Files whose content can change under the same name — the photo (Expand replaces it),
        the masks, the accepted edits (an undone accept's number is reused), the layers (a
        re-blend replaces their pixels) — are rewritten when what they hold changed; every
        other file of the layout is written once.

        Raises:
            OSError: a file could not be written.
            ValueError: a file name is not one of the layout's safe names (never written).
        """
        from .manifest import _member

        manifest = state.manifest()
        masks = {
            "mask.png": _fingerprint(state.mask),
            "mask-strength.png": _fingerprint(state.mask_alpha),
        }
        objects: dict[str, object] = {manifest["photo"]["file"]: state.original}
        for entry, (_, patch) in zip(manifest["accepted"], state.accepted, strict=True):
            objects[entry["file"]] = patch
        for v in state.variants:  # a re-blend replaces a layer's pixels under the same name
            if v.layer is not None:
                objects[f"layers/{v.id}.png"] = v.layer

        def skip(n: str) -> bool:
            if not (self.folder / n).exists():
                return False
            if n in masks:
                return self._masks.get(n) == masks[n]  # the same pixels are on disk
            if n in objects:
                return self._objects.get(n) is objects[n]  # the same object was written there
            return True  # named by its content or its id: never different

        for name, data in files_of(state, manifest, skip=skip):
            target = self.folder / _member(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, data)
            if name in masks:
                self._masks[name] = masks[name]
            if name in objects:
                self._objects[name] = objects[name]
        # only what the document still holds: a discarded layer or an undone edit is not kept
        # alive here (a later save of the same name simply rewrites it)
        self._objects = {n: o for n, o in self._objects.items() if objects.get(n) is o}
        atomic_write(
            self.folder / "manifest.json",
            json.dumps(manifest, indent=1, ensure_ascii=False).encode(),
        )

    def discard(self) -> None:
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)


def recovery_root() -> Path:
    from ..settings import data_dir

    root = data_dir() / "recovery"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (never signals it: on Windows ``os.kill`` would end it)."""
    if pid == os.getpid():
        return True
    if os.name == "nt":
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]  # Windows only
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:  # Linux: a zombie has ended
            if f.read(512).rsplit(b")", 1)[-1].split()[0] == b"Z":
                return False
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def orphaned_recoveries(root: Path | None = None) -> list[Path]:
    """Recovery folders left by sessions that are no longer running, newest first."""
    root = root or recovery_root()
    out = []
    for folder in root.iterdir():
        if not (folder / "manifest.json").exists():
            continue
        try:
            pid = int((folder / "pid").read_text())
        except (OSError, ValueError):
            pid = -1
        if pid < 0 or not _alive(pid):
            out.append(folder)
    return sorted(out, key=lambda p: (p / "manifest.json").stat().st_mtime, reverse=True)
