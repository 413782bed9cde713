"""Writing files so that a failure never leaves half a file: a synced temporary file beside
the target, renamed over it (the rename is atomic on every platform we support)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


#: Permission bits of files we write: what the user's umask gives a new file (typically
#: 0644), not the private 0600 of a temporary file.
FILE_MODE = 0o666 & ~_umask()


def finished_temp(path: Path, data: bytes, mode: int) -> str:
    """A temporary file beside ``path`` holding ``data``, flushed, synced and given ``mode``
    (not on Windows, where the ACL of the folder applies); its name. Nothing is left behind
    when this fails."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def atomic_write(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename; the old file survives failures.

    The file gets ``mode`` (default: the user's normal permissions for a new file)."""
    tmp = finished_temp(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
