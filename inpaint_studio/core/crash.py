"""Crash reports: an unexpected failure is written down and named, never shown as Python's words."""

from __future__ import annotations

import time
import traceback
from pathlib import Path


def crash_folder() -> Path:
    from .settings import data_dir

    folder = data_dir() / "crash-reports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_crash_report(exc: BaseException) -> Path | str:
    """Write ``exc`` with its traceback to the data folder's ``crash-reports/``; returns the
    file's path (or a sentence when even that failed). Never raises."""
    from .. import __version__

    text = f"Inpaint Studio {__version__}, {time.strftime('%Y-%m-%d %H:%M:%S')}\n\n" + "".join(
        traceback.format_exception(type(exc), exc, exc.__traceback__)
    )
    from .textsafe import clean

    text = clean(text, limit=1_000_000, one_line=False)  # no key, no escape sequence in a report
    try:
        path = crash_folder() / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{id(exc) & 0xFFFF:04x}.txt"
        path.write_text(text, "utf-8")
        return path
    except OSError:
        return "(the report could not be written)"
