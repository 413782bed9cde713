"""What every command shares: exit statuses, the one-line error on stderr, the output folder and provider options."""

from __future__ import annotations

import sys
from pathlib import Path

EXIT_OK, EXIT_PROVIDER, EXIT_INPUT, EXIT_WITHHELD = 0, 1, 2, 3


def _say(text: str) -> None:
    """Write one message line to stderr through the one sanitising path: keys redacted,
    escape sequences and control characters removed, always exactly one line."""
    from ..core.textsafe import clean

    lead = "\n" if text.startswith("\n") else ""
    sys.stderr.write(lead + clean(text, limit=8000) + "\n")


class _UsageError(Exception):
    pass


class _WriteError(Exception):
    pass


def _output_folder(folder: Path) -> Path:
    """The output folder, created if needed and checked writable (before anything is sent).

    Raises:
        _UsageError: it cannot be created or written to.
    """
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".inpaint-studio-check-"):
            pass
    except OSError as exc:
        raise _UsageError(
            f"The output folder {folder} cannot be written to ({exc.strerror or exc}); "
            "nothing was sent."
        ) from None
    return folder


def _provider_options(args, name: str) -> dict:
    """Provider-specific flags, refused on providers they do not apply to."""
    from ..providers import descriptions

    options: dict = {}
    owners: dict[str, list] = {}
    for desc in descriptions():
        for opt in desc.options:
            owners.setdefault(opt.name, []).append((desc.name, opt))
    for key, found in owners.items():
        value = getattr(args, f"option_{key}", None)
        if value is None:
            continue
        mine = next((opt for who, opt in found if who == name), None)
        if mine is None:
            who = " or ".join(f"--provider {w}" for w, _ in found)
            raise _UsageError(f"{found[0][1].cli} applies only to {who}.")
        allowed = [v for v, _ in mine.choices]
        if allowed and value not in allowed:
            raise _UsageError(
                f"{mine.cli} {value} is not offered by {name}; choose {', '.join(allowed)}."
            )
        options[key] = value
    return options
