"""``batch``: many photos, one request, within the provider's rate and in-flight limits."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from .common import EXIT_OK, _output_folder, _provider_options, _reported, _say, _UsageError
from .edit import _where_kept
from .paid import TaskKeeper, print_quote, quote_job

MASK_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")


def _mask_for(args, photo: Path) -> Path | None:
    if args.mask is not None:
        return args.mask
    return next(
        (
            args.masks / f"{photo.stem}{s}"
            for s in MASK_SUFFIXES
            if (args.masks / f"{photo.stem}{s}").is_file()
        ),
        None,
    )


def cmd_batch(args) -> int:
    """``batch PHOTO... (--mask M | --masks DIR) …``: exit 0 when every photo is done (or was
    done by an earlier run); else a line per failure on stderr and the worst exit status."""
    return _reported(
        lambda: asyncio.run(_run_batch(args)),
        "cancelled; a re-run continues where this one stopped.",
    )


async def batch_quote(provider, items, load_request):
    """The price of editing every photo of ``items``: each priced exactly where the provider
    quotes a request (Ideogram 4.x ``dry_run``), else one photo's price times their number."""
    from ..core.pipeline.protocol import Quote

    first = await quote_job(provider, await asyncio.to_thread(load_request, items[0]))
    if not first.exact or first.usd == 0 or len(items) == 1:
        usd = None if first.usd is None else first.usd * len(items)
        return Quote(usd, first.exact, f"{len(items)} photos × {first.detail}", first.source)
    usd = first.usd or 0.0
    for item in items[1:]:
        q = await quote_job(provider, await asyncio.to_thread(load_request, item))
        usd += q.usd or 0.0
    return Quote(usd, True, f"{len(items)} photos × {first.detail}", first.source)


async def _run_batch(args) -> int:
    from ..core.errors import InvalidInput
    from ..core.formats.journal import default_journal
    from ..core.formats.output import next_index, write_variant
    from ..core.pipeline.batch import BatchItem, InflightWindow, done_before, run_batch
    from ..core.pipeline.jobs import JobRunner
    from ..core.pipeline.params import make_request, to_json, values_from_args
    from ..core.pipeline.request import EditRequest
    from ..core.pixels.imaging import load_image, load_mask
    from ..providers import create_provider, default_provider
    from ..providers.http import make_client

    values = values_from_args(args)
    parameters = to_json(values)
    out_dir = _output_folder(args.out or args.photos[0].parent)  # before anything is paid for
    if args.masks is not None and not args.masks.is_dir():
        raise _UsageError(f"The mask folder {args.masks} does not exist.")
    items = []
    for photo in dict.fromkeys(p.resolve() for p in args.photos):  # each photo once
        item = BatchItem(photo, _mask_for(args, photo))
        if item.mask is None:
            item.status, item.error, item.exit_code = (
                "failed",
                f"no mask named {photo.stem}.png in {args.masks}",
                2,
            )
        elif outputs := done_before(out_dir, photo, parameters):
            item.status, item.outputs = "skipped", outputs
        items.append(item)
    name = args.provider or default_provider()
    journal = default_journal(f"cli-{os.getpid()}")
    images = int(values.get("num_images") or 1)
    tty = sys.stderr.isatty() and not args.json

    def progress() -> None:
        if tty:
            n = {
                s: sum(i.status == s for i in items)
                for s in ("done", "skipped", "failed", "running")
            }
            sys.stderr.write(
                f"\rbatch: {n['done'] + n['skipped']}/{len(items)} done, {n['running']} running, "
                f"{n['failed']} failed "
            )
            sys.stderr.flush()

    async with make_client() as client:
        from ..core.pipeline.net import RetryPolicy

        # a 429 inflight_limit is not retried blindly: the window shrinks and the photo waits its turn
        provider = create_provider(
            name,
            client,
            base_url=args.base_url,
            retry=RetryPolicy(retry_inflight=False),
            **_provider_options(args, name),
        )
        limit = provider.capabilities.max_inflight_images or 2 * images
        window = InflightWindow(max(limit, images))
        # the window, not a per-provider job count, bounds the batch; results reach the journal first
        keeper = TaskKeeper(journal, base_url=args.base_url)  # every paid generation, at once
        runner = JobRunner(
            client,
            journal=journal,
            concurrency=max(1, window.limit // images) + 1,
            persist_tasks=keeper,
        )

        from ..core.pipeline.batch import ANSWERED

        def load_request(item: BatchItem) -> EditRequest:
            photo = load_image(item.photo)
            assert item.mask is not None
            mask = load_mask(item.mask, photo.size, white_edits=args.mask_white_edits)
            return make_request(photo, mask, values)

        todo = [i for i in items if i.status == "pending"]
        total = None
        if todo:  # the price of the whole batch before anything is paid for
            total = await batch_quote(provider, todo, load_request)
            if args.quote:
                print_quote(total, args, provider)
                return EXIT_OK
            if not args.json:  # --json carries it as "cost"
                _say(
                    f"inpaint-studio: {len(todo)} photos to edit: {total.text()} ({total.source})."
                )

        async def make_job(item: BatchItem, answered):
            request = await asyncio.to_thread(load_request, item)
            job = runner.submit(request, provider)

            def watch(j) -> None:  # the images leave flight when the provider answers
                if j is job and j.stage in ANSWERED:
                    answered(j.error is None)

            runner.changed.connect(watch)
            try:
                await runner.wait(job)
            finally:
                runner.changed.disconnect(watch)
            keeper.done(job)
            return job

        async def write(item: BatchItem, job) -> list[str]:
            paths = []
            n = next_index(out_dir, item.photo.stem)
            for v in job.variants:
                if v.safe and v.layer is not None:
                    try:
                        path = await asyncio.to_thread(
                            write_variant,
                            job,
                            v,
                            out_dir,
                            item.photo.stem,
                            n,
                            details=not args.no_embed,
                        )
                    except OSError as exc:
                        raise InvalidInput(
                            f"cannot write to {out_dir} ({exc.strerror or exc}); {_where_kept(job)}"
                        ) from None
                    paths.append(str(path))
                    n = int(path.stem.rsplit("-", 1)[1]) + 1
            return paths

        progress()
        await run_batch(items, make_job, write, window, images, on_change=progress)
    if tty:
        sys.stderr.write("\n")
    for item in items:
        if item.status == "failed":
            _say(f"inpaint-studio: {item.photo.name}: {item.error}\n")
    if args.json:
        print(
            json.dumps(
                {
                    "provider": name,
                    "cost": total.to_json() if total is not None else None,
                    "photos": [
                        {
                            "photo": str(i.photo),
                            "status": i.status,
                            "outputs": i.outputs,
                            "error": i.error,
                        }
                        for i in items
                    ],
                },
                ensure_ascii=False,
            )
        )
    elif not tty:
        for item in items:
            for path in item.outputs:
                print(path)
    return max((i.exit_code for i in items if i.status == "failed"), default=EXIT_OK)
