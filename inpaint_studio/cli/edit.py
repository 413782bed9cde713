"""``edit``, ``expand`` and ``resume``: one job from the command line, its results written and journaled, paid work never lost."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from .common import (
    _LAST_JOB,
    EXIT_OK,
    _output_folder,
    _provider_options,
    _reported,
    _say,
    _UsageError,
    _WriteError,
    paid_work,
)
from .paid import TaskKeeper, print_quote, quote_job


class _ProgressBar:
    """A one-line progress display on stderr when it is a terminal; silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.last = ""

    def __call__(self, job) -> None:
        if not self.enabled:
            return
        stage = job.stage
        if job.total:
            frac = (job.done or 0) / job.total
            bar = "█" * int(frac * 20) + "░" * (20 - int(frac * 20))
            text = f"{stage:<12} {bar} {frac * 100:5.1f} %  {job.elapsed:5.1f} s"
        else:
            text = f"{stage:<12} {'':20} {'':7}  {job.elapsed:5.1f} s"
        if text != self.last:
            sys.stderr.write("\r" + text)
            sys.stderr.flush()
            self.last = text

    def close(self) -> None:
        if self.enabled and self.last:
            sys.stderr.write("\r" + " " * len(self.last) + "\r")
            sys.stderr.flush()


def _build_request(args):
    from ..core.errors import MaskError
    from ..core.pipeline.params import make_request, values_from_args
    from ..core.pixels.imaging import header_size, load_image, load_mask

    if args.command != "expand":  # sizes from the headers first: nothing is decoded for a mismatch
        size, mask_size = header_size(args.image), header_size(args.mask)
        if size != mask_size:
            raise MaskError(
                f"The mask {args.mask.name} is {mask_size[0]}×{mask_size[1]} pixels but the photo "
                f"{args.image.name} is {size[0]}×{size[1]}; they must be the same size."
            )
    photo = load_image(args.image, keep_source=bool(getattr(args, "project", None)))
    if args.command == "expand":
        from ..core.document.expand import expand_photo, pad_for_aspect, parse_aspect, parse_pad

        pad = (
            parse_pad(args.pad)
            if args.pad
            else pad_for_aspect(photo.size, parse_aspect(args.aspect))
        )
        if not any(pad):
            raise _UsageError(
                f"The photo already has the aspect ratio {args.aspect}; nothing to expand."
            )
        w, h = photo.size
        args.original = {"x": pad[0], "y": pad[1], "width": w, "height": h}
        photo, mask = expand_photo(photo, pad)
        return make_request(photo, mask, values_from_args(args))
    mask = load_mask(args.mask, photo.size, white_edits=args.mask_white_edits)
    return make_request(photo, mask, values_from_args(args))


def _kept(job) -> list[str]:
    """The journal files that hold a job's results, each checked to exist before it is named."""
    out = []
    for v in job.variants:
        p = v.extra.get("journal") if isinstance(v.extra, dict) else None
        if isinstance(p, str) and Path(p).is_file():
            out.append(p)
    return out


def _where_kept(job) -> str:
    """Where the paid results are, said only of files that exist."""
    kept = _kept(job)
    if kept:
        return f"the results are kept in the result journal: {', '.join(kept)}"
    return "the results could not be kept anywhere (the result journal could not be written either)"


async def _run_edit(args, request) -> int:
    from ..core.errors import InpaintError
    from ..core.formats.journal import default_journal
    from ..core.formats.output import next_index, write_variant
    from ..core.pipeline.jobs import JobRunner
    from ..providers import create_provider, default_provider
    from ..providers.http import make_client

    name = args.provider or default_provider()
    out_dir = _output_folder(args.out or args.image.parent)  # before anything is paid for
    if args.project is not None:
        _output_folder(args.project.parent or Path("."))
    journal = default_journal(f"cli-{os.getpid()}")
    async with make_client() as client:
        provider = create_provider(
            name, client, base_url=args.base_url, **_provider_options(args, name)
        )
        if args.quote:  # the price, nothing billable sent
            print_quote(await quote_job(provider, request), args, provider)
            return EXIT_OK
        bar = _ProgressBar(sys.stderr.isatty() and not args.json)
        keeper = TaskKeeper(
            journal,
            base_url=args.base_url,
            photo_path=str(args.image.resolve()) if args.command == "edit" else None,
            mask_path=str(args.mask.resolve()) if args.command == "edit" else None,
            mask_white_edits=bool(getattr(args, "mask_white_edits", False)),
        )
        # every result is kept before outputs are written; every paid task before any wait
        runner = JobRunner(client, listener=bar, journal=journal, persist_tasks=keeper)
        job = runner.submit(request, provider)
        _LAST_JOB["job"] = job  # so Ctrl-C can name the paid tasks
        try:
            await runner.wait(job)
        finally:
            bar.close()
        keeper.done(job)
    for note in job.notes:
        _say(f"Note: {note}\n")
    written = []
    stem = args.image.stem + ("-expanded" if args.command == "expand" else "")
    n = next_index(out_dir, stem)
    for v in job.variants:
        if v.safe and v.layer is not None:
            try:
                path = await asyncio.to_thread(
                    write_variant,
                    job,
                    v,
                    out_dir,
                    stem,
                    n,
                    raw=args.raw,
                    details=not args.no_embed,
                )
            except OSError as exc:
                raise _WriteError(
                    f"The result could not be written to {out_dir} ({exc.strerror or exc}); "
                    f"{_where_kept(job)}."
                ) from None
            written.append((v, path))
            n = int(path.stem.rsplit("-", 1)[1]) + 1
    withheld = sum(1 for v in job.variants if not v.safe)
    project = None
    if args.project is not None and job.variants:
        from ..core.document.persist import job_project
        from ..core.formats.project import save_project

        project = (
            args.project
            if args.project.suffix == ".inpaint"
            else args.project.with_name(args.project.name + ".inpaint")
        )
        try:
            name = (
                f"{args.image.stem}-expanded.png" if args.command == "expand" else args.image.name
            )
            await asyncio.to_thread(save_project, project, job_project(job, name))
        except OSError as exc:
            raise _WriteError(
                f"The project could not be written to {project} ({exc.strerror or exc}); "
                f"{_where_kept(job)}."
            ) from None
    if args.json:
        from ..core.textsafe import clean_json

        paths = {id(v): str(p) for v, p in written}
        print(
            json.dumps(
                clean_json(
                    {
                        "provider": provider.name,
                        "variants": [
                            {
                                "path": paths.get(id(v)),
                                "seed": v.seed,
                                "prompt": v.prompt,
                                "resolution": v.resolution,
                                "safe": v.safe,
                            }
                            for v in job.variants
                        ],
                        "sent": job.sent,
                        "notes": job.notes,
                        "cost": job.cost().to_json(),
                        "project": str(project) if project else None,
                    }
                    | ({"original": args.original} if args.command == "expand" else {})
                ),
                ensure_ascii=False,
            )
        )
    if job.error is not None:
        assert isinstance(job.error, InpaintError)
        for line in paid_work(job):
            if line.split(" ")[2] not in job.error.message:
                _say(f"inpaint-studio: {line}")
        raise job.error
    if not args.json:
        for _, path in written:
            print(path)
        if project:
            print(project)
    if withheld:
        _say(
            f"Note: {withheld} of {len(job.variants)} variants were withheld by the safety filter.\n"
        )
    return EXIT_OK


def cmd_edit(args) -> int:
    return _reported(lambda: asyncio.run(_run_edit(args, _build_request(args))))
