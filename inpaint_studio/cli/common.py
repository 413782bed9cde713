"""What every command shares: exit statuses, the one-line error on stderr, the output folder and provider options."""

from __future__ import annotations

import os
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


def paid_work(job) -> list[str]:
    """One line per paid task or generation still running at the provider, with its resume
    command (printed on Ctrl-C, a timeout or a failure before the results arrived)."""
    from ..core.errors import InvalidRequestError

    if (
        job is None
        or job.prepared is None
        or job.variants
        or isinstance(job.error, InvalidRequestError)
    ):
        return []  # results arrived, or the provider said the task failed: nothing runs on
    lines = []
    from ..providers.answers import valid_id

    for t in job.prepared.remote_tasks:
        provider, ident = t.provider, t.task_id
        if valid_id(ident) and valid_id(provider):
            lines.append(
                f"{provider} task {ident} was paid for and may still finish: "
                f"inpaint-studio resume {ident} --provider {provider}"
            )
    return lines


#: the job running, so Ctrl-C can name the paid tasks it leaves
_LAST_JOB: dict = {}


#: seconds Ctrl-C may take to end a command (cancelling jobs, closing connections) before
#: the program leaves at once, naming the paid work it leaves
INTERRUPT_GRACE = 10.0


def _ctrl_c_bounded(cancelled: str):
    """Install a Ctrl-C handler that interrupts the command (KeyboardInterrupt, as Python's
    own) and starts a watchdog: if cleaning up after it takes over :data:`INTERRUPT_GRACE`
    seconds, the paid work is named and the program exits 130 at once. Returns a function
    that puts the previous handler back."""
    import signal
    import threading

    timers: list[threading.Timer] = []

    def leave_now() -> None:
        _say(f"inpaint-studio: {cancelled}\n")
        for line in paid_work(_LAST_JOB.get("job")):
            _say(f"inpaint-studio: {line}")
        os._exit(130)

    def on_sigint(signum, frame) -> None:
        if not timers:
            timers.append(threading.Timer(INTERRUPT_GRACE, leave_now))
            timers[0].daemon = True
            timers[0].start()
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread (tests calling main() from a worker)
        return lambda: None

    def restore() -> None:
        for t in timers:
            t.cancel()
        signal.signal(signal.SIGINT, previous)

    return restore


def _reported(run, cancelled: str = "cancelled.") -> int:
    """``run()``'s exit status; every expected failure becomes one line on stderr. Ctrl-C
    ends the command within :data:`INTERRUPT_GRACE` seconds, naming the paid work it leaves."""
    from ..core.errors import InpaintError

    restore = _ctrl_c_bounded(cancelled)
    try:
        return run()
    except _UsageError as exc:
        _say(f"inpaint-studio: {exc}\n")
        return EXIT_INPUT
    except InpaintError as exc:
        _say(f"inpaint-studio: {exc.message}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        _say(f"inpaint-studio: {cancelled}\n")
        for line in paid_work(_LAST_JOB.get("job")):
            _say(f"inpaint-studio: {line}")
        return 130
    except _WriteError as exc:
        _say(f"inpaint-studio: {exc}\n")
        return EXIT_PROVIDER
    except OSError as exc:
        _say(f"inpaint-studio: cannot write the result: {exc.strerror or exc}.\n")
        return EXIT_PROVIDER
    finally:
        restore()
