"""Paid work from the command line: the price before paying (``--quote``), every generation
or task kept durably the moment it is created, and ``resume`` (list what is unfinished, or
fetch one and composite it onto its photo)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

from .common import EXIT_INPUT, EXIT_OK, _reported, _say, _UsageError, _WriteError


class TaskKeeper:
    """``persist_tasks`` for a command's :class:`~inpaint_studio.core.pipeline.jobs.JobRunner`:
    each new remote task is written to the result journal's pending list (fsynced) and an
    Ideogram generation is named on stderr with its resume command *before* the program waits
    for it (shared/docs/providers.md, "Ideogram API v2": there is no idempotency key); :meth:`done` forgets
    it once its results are journaled (or it failed unbilled)."""

    def __init__(self, journal, **extra) -> None:
        self.journal = journal
        self.extra = extra
        self.announced: set[str] = set()

    async def __call__(self, job) -> None:
        await asyncio.to_thread(self.journal.record_pending, job, **self.extra)
        assert job.prepared is not None
        for t in job.prepared.remote_tasks:
            if t.task_id in self.announced:
                continue
            self.announced.add(t.task_id)
            if t.provider != "ideogram":  # Magnific, 1min.ai: named when something goes wrong
                continue
            _say(
                f"inpaint-studio: {job.provider.label} generation {t.task_id} started; if this "
                f"command stops, fetch it with `inpaint-studio resume {t.task_id} --provider "
                f"{t.provider}`."
            )

    def done(self, job) -> None:
        """Forget ``job``'s tasks when nothing of them runs on (results arrived, or the
        provider said they failed)."""
        from ..core.errors import InvalidRequestError

        if job.prepared is None:
            return
        if job.variants or isinstance(job.error, InvalidRequestError):
            for t in job.prepared.remote_tasks:
                self.journal.clear_pending(t.provider, t.task_id)


async def quote_job(provider, request):
    """What ``request`` would cost at ``provider``: prepared as a job would be, then priced
    (Ideogram 4.x: ``dry_run``; others: their price table). Nothing billable is sent.

    Raises:
        ValidationError: the request breaks a rule (as a job would).
        ProviderError: the quote request failed.
    """
    from ..core.pipeline.jobs import prepare
    from ..core.pipeline.params import check

    check(request, provider.capabilities, provider.label)
    caps = provider.capabilities
    prepared = await asyncio.to_thread(
        prepare,
        request,
        uploads=caps.uploads,
        answer_sizes=caps.answer_sizes,
        max_region_pixels=caps.max_region_pixels,
        upload_limit=caps.upload_limit,
    )
    return await provider.quote(request, prepared)


def print_quote(quote, args, provider) -> None:
    if args.json:
        print(
            json.dumps(
                {"provider": provider.name, "label": provider.label, "cost": quote.to_json()}
            )
        )
    else:
        print(f"{provider.label}: {quote.text()} ({quote.source}); nothing was sent for payment.")


# -- resume -------------------------------------------------------------------------------------


def unfinished() -> list[dict]:
    """Every unfinished paid job found on this machine: the result journal's pending list
    (commands) and the recovery copies of editor sessions that ended (crashes)."""
    from ..core.document.recovery import list_recoveries
    from ..core.formats.journal import default_journal
    from ..core.pipeline.protocol import RemoteTask, Stage

    out = [dict(m, where="command") for m in default_journal().pending()]
    seen = {(m["task"].provider, m["task"].task_id) for m in out}
    done = (Stage.DONE, Stage.FAILED, Stage.CANCELLED)
    for rec in list_recoveries():
        try:
            manifest = json.loads((rec.folder / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError):
            continue
        jobs = manifest.get("jobs") if isinstance(manifest, dict) else None
        for j in jobs if isinstance(jobs, list) else []:
            if not isinstance(j, dict) or j.get("stage") in done or j.get("variants"):
                continue
            for d in j.get("remote_tasks") or []:
                task = RemoteTask.from_json(d)
                if task is None or (task.provider, task.task_id) in seen:
                    continue
                seen.add((task.provider, task.task_id))
                prompt = (
                    (j.get("parameters") or {}).get("prompt")
                    if isinstance(j.get("parameters"), dict)
                    else None
                )
                out.append(
                    {"task": task, "where": "editor", "prompt": prompt, "label": task.provider}
                )
    return out


def _list_unfinished(args) -> int:
    from ..core.textsafe import clean
    from ..providers.answers import valid_id

    found = [
        m for m in unfinished() if valid_id(m["task"].task_id) and valid_id(m["task"].provider)
    ]
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "provider": m["task"].provider,
                        "task_id": m["task"].task_id,
                        "seed": m["task"].seed,
                        "where": m["where"],
                        "command": _command(m),
                    }
                    for m in found
                ]
            )
        )
        return EXIT_OK
    if not found:
        print("No unfinished paid work was found.")
        return EXIT_OK
    for m in found:
        t = m["task"]
        when = m.get("time")
        started = (
            time.strftime(" started %Y-%m-%d %H:%M", time.localtime(when))
            if isinstance(when, int | float)
            else ""
        )
        prompt = m.get("prompt")
        said = f" “{clean(prompt, limit=40)}”" if isinstance(prompt, str) and prompt else ""
        origin = "from the editor" if m["where"] == "editor" else "from a command"
        print(
            f"{clean(str(m.get('label') or t.provider), limit=60)}{said}{started} ({origin}): {_command(m)}"
        )
    return EXIT_OK


def _command(m: dict) -> str:
    t = m["task"]
    cmd = f"inpaint-studio resume {t.task_id} --provider {t.provider}"
    base = m.get("base_url")
    if isinstance(base, str) and base.startswith(("http://", "https://")) and base.isprintable():
        cmd += f" --base-url {base}"
    return cmd


def cmd_resume(args) -> int:
    """No id: list every unfinished paid job. An id: fetch it; composite it onto its photo
    when this machine started it (the result journal knows photo, mask and region), else
    save the provider's images as they are."""
    from ..providers.answers import valid_id

    if args.task_id is None:
        return _list_unfinished(args)
    if valid_id(args.task_id) is None:
        _say(
            f"inpaint-studio: “{args.task_id}” is not a task id (letters, digits, '-' and '_' only)."
        )
        return EXIT_INPUT
    if args.out.exists() and not args.out.is_dir():
        _say(
            f"inpaint-studio: --out {args.out} is a file; give a folder for the downloaded images."
        )
        return EXIT_INPUT
    from ..core.formats.journal import default_journal

    record = next(
        (
            m
            for m in default_journal().pending()
            if m["task"].task_id == args.task_id
            and (args.provider is None or m["task"].provider == args.provider)
        ),
        None,
    )
    provider = args.provider or (record["task"].provider if record else "magnific")
    got: list = []

    def run() -> int:
        try:
            got.extend(asyncio.run(_resume(args, provider, record)))
        except _UsageError as exc:  # not finished yet: the provider's state (exit 1)
            raise _WriteError(str(exc)) from None
        return EXIT_OK

    status = _reported(run)
    if status != EXIT_OK:
        return status
    paths, composited = got
    if args.json:
        print(
            json.dumps(
                {
                    "task_id": args.task_id,
                    "paths": [str(p) for p in paths],
                    "composited": composited,
                }
            )
        )
    else:
        for p in paths:
            print(p)
    return EXIT_OK


def _source(record: dict | None):
    """``(request, region)`` of the job a pending record describes, when its photo and mask
    are still where they were and still match; else None."""
    from ..core.errors import InpaintError
    from ..core.pipeline.context import Region
    from ..core.pipeline.params import from_json, make_request
    from ..core.pipeline.request import ContextMode
    from ..core.pixels.imaging import load_image, load_mask

    if record is None:
        return None
    photo, mask, region = record.get("photo_path"), record.get("mask_path"), record.get("region")
    if not (isinstance(photo, str) and isinstance(mask, str) and isinstance(region, list)):
        return None
    try:
        x0, y0, x1, y1, sw, sh, mode = region
        image = load_image(Path(photo))
        m = load_mask(Path(mask), image.size, white_edits=bool(record.get("mask_white_edits")))
        w, h = image.size
        if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h and 0 < sw * sh <= 64_000_000):
            return None
        area = Region(int(x0), int(y0), int(x1), int(y1), int(sw), int(sh), ContextMode(mode))
    except (InpaintError, OSError, ValueError, TypeError):
        return None
    return make_request(image, m, from_json(record.get("parameters"))), area


async def _resume(args, provider_name: str, record: dict | None) -> tuple[list[Path], bool]:
    from ..core.atomic import atomic_write
    from ..core.formats.journal import default_journal
    from ..core.formats.output import file_extension, next_index, write_variant
    from ..core.pipeline.jobs import JobRunner
    from ..core.pipeline.net import download_image, is_loopback
    from ..core.pipeline.protocol import RemoteTask
    from ..providers import create_provider
    from ..providers.http import make_client

    options = record.get("options") if record and isinstance(record.get("options"), dict) else {}
    base = args.base_url or (record.get("base_url") if record else None)
    async with make_client() as client:
        provider = create_provider(provider_name, client, base_url=base, **options)
        status, urls = await provider.fetch(args.task_id)
        if status != "COMPLETED":
            raise _UsageError(
                f"Task {args.task_id} is {status.lower() or 'unknown'}; try again later."
            )
        try:
            args.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _UsageError(
                f"The folder {args.out} cannot be made ({exc.strerror or exc})."
            ) from None
        source = await asyncio.to_thread(_source, record)
        journal = default_journal()
        if source is not None and provider.description.can_resume:
            request, region = source
            task = record["task"] if record else RemoteTask(provider_name, args.task_id)
            runner = JobRunner(client, journal=journal)
            job = await runner.wait(runner.resume(request, provider, region, [task]))
            if job.error is not None:
                raise job.error
            stem = Path(str(record.get("photo_path"))).stem if record else args.task_id
            n = next_index(args.out, stem)
            paths = []
            for v in job.variants:
                if v.safe and v.layer is not None:
                    path = await asyncio.to_thread(write_variant, job, v, args.out, stem, n)
                    paths.append(path)
                    n = int(path.stem.rsplit("-", 1)[1]) + 1
            journal.clear_pending(provider_name, args.task_id)
            return paths, True
        loopback = is_loopback(urlsplit(provider.base_url).hostname or "")
        paths = []
        for i, url in enumerate(urls[:8], 1):
            data, _ = await download_image(client, url, allow_loopback=loopback)
            path = args.out / f"{args.task_id}-{i}.{file_extension(data)}"
            atomic_write(path, data)
            paths.append(path)
        journal.clear_pending(provider_name, args.task_id)
        return paths, False
