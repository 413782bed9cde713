"""Command line: ``inpaint-studio edit``, ``auth``, ``--version``; no subcommand opens the editor.

Exit status of ``edit``: 0 every returned variant written; 1 provider or network failure
(a prompt refused with 422 included); 2 invalid input (usage, validation, unreadable file,
no key); 3 the provider answered but withheld every variant. Errors are one line on stderr,
never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from . import __version__

EXIT_OK, EXIT_PROVIDER, EXIT_INPUT, EXIT_WITHHELD = 0, 1, 2, 3


def _say(text: str) -> None:
    """Write one message line to stderr through the one sanitising path: keys redacted,
    escape sequences and control characters removed, always exactly one line."""
    from .core.textsafe import clean

    lead = "\n" if text.startswith("\n") else ""
    sys.stderr.write(lead + clean(text, limit=8000) + "\n")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        _say(f"inpaint-studio: {message[0].upper() + message[1:]} (see --help).\n")
        raise SystemExit(EXIT_INPUT)


def _edit_parser(sub, command: str = "edit") -> None:
    from .core.pipeline.params import add_arguments
    from .providers import descriptions, provider_names

    if command == "batch":
        p = sub.add_parser(
            "batch",
            help="the same edit on many photos, concurrently under the provider's limit",
            description="One job per photo, run concurrently under the provider's in-flight limit; "
            "a re-run skips photos already done.",
        )
        p.add_argument("photos", type=Path, nargs="+", metavar="PHOTO")
        how = p.add_mutually_exclusive_group(required=True)
        how.add_argument(
            "--mask", type=Path, help="one mask for every photo (same size); black = edit"
        )
        how.add_argument(
            "--masks",
            type=Path,
            metavar="DIR",
            help="a folder with a mask per photo, named like it",
        )
        p.add_argument(
            "--mask-white-edits",
            action="store_true",
            help="the masks' white marks the area to edit",
        )
    elif command == "expand":
        p = sub.add_parser(
            "expand",
            help="extend a photo's canvas and fill the new margin (outpainting)",
            description="Expand the canvas by --pad or to --aspect and let the provider fill the "
            "new margin; the original's pixels stay exactly as they are.",
        )
        p.add_argument(
            "image", type=Path, help="the photo (JPEG, PNG, WebP or anything Pillow reads)"
        )
        how = p.add_mutually_exclusive_group(required=True)
        how.add_argument(
            "--pad", metavar="L,T,R,B", help="pixels to add on the left, top, right and bottom"
        )
        how.add_argument(
            "--aspect",
            metavar="W:H",
            help="grow the canvas, centred, to this aspect ratio (e.g. 16:9)",
        )
    else:
        p = sub.add_parser(
            "edit",
            help="inpaint a photo from the terminal",
            description="Inpaint the masked area of a photo.",
        )
        p.add_argument(
            "image", type=Path, help="the photo (JPEG, PNG, WebP or anything Pillow reads)"
        )
        p.add_argument(
            "--mask", type=Path, required=True, help="mask image, same size; black = edit"
        )
        p.add_argument(
            "--mask-white-edits",
            action="store_true",
            help="the mask's white marks the area to edit",
        )
    p.add_argument(
        "--provider", choices=provider_names(), help="default: the first with a key, else local"
    )
    p.add_argument("--base-url", help="provider base URL (e.g. a local test server)")
    for desc in descriptions():  # each provider's own options, from its description
        for opt in desc.options:
            choices = [value for value, _ in opt.choices] or None
            p.add_argument(
                opt.cli,
                dest=f"option_{opt.name}",
                choices=choices,
                metavar=None if choices else "VALUE",
                help=f"{opt.help} ({desc.name} only)",
            )
    add_arguments(p)  # every request parameter, from core/params.py
    p.add_argument("--out", type=Path, help="output folder (default: beside the image)")
    p.add_argument("--raw", action="store_true", help="also keep each provider image as returned")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    if command != "batch":
        p.add_argument(
            "--project",
            type=Path,
            metavar="OUT.inpaint",
            help="also save a project (photo, mask, variants as layers) that opens in the editor",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="inpaint-studio",
        description="Mask-based AI inpainting. With no command, opens the editor.",
    )
    parser.add_argument("--version", action="version", version=f"inpaint-studio {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    _edit_parser(sub)
    _edit_parser(sub, "expand")
    _edit_parser(sub, "batch")
    from .providers import descriptions

    resumable = tuple(d.name for d in descriptions() if d.can_resume)
    resume = sub.add_parser(
        "resume", help=f"fetch the results of a remote task ({', '.join(resumable)}) by its id"
    )
    resume.add_argument("task_id")
    resume.add_argument("--provider", choices=resumable, default="magnific")
    resume.add_argument("--base-url")
    resume.add_argument(
        "--out", type=Path, default=Path("."), help="folder for the downloaded images"
    )
    resume.add_argument("--json", action="store_true")
    project = sub.add_parser(
        "project", help="check a project, or export its layers, without opening the editor"
    )
    project.add_argument("action", choices=("info", "export"))
    project.add_argument("file", type=Path)
    project.add_argument(
        "--out",
        type=Path,
        help="export: X.psd (Photoshop), X.ora (OpenRaster: Krita, GIMP) or X.png (flat)",
    )
    project.add_argument("--json", action="store_true")
    select = sub.add_parser(
        "select",
        help="select the subject inside a rectangle (offline) and write its mask",
        description="Select the object inside --box (OpenCV GrabCut, no model download) and "
        "write a black-on-white mask (black = the subject) at the photo's size.",
    )
    select.add_argument("image", type=Path)
    select.add_argument(
        "--box",
        required=True,
        metavar="X0,Y0,X1,Y1",
        help="the rectangle around the subject, photo pixels",
    )
    select.add_argument("--out", required=True, type=Path, metavar="MASK.png")
    select.add_argument("--json", action="store_true")
    auth = sub.add_parser("auth", help="manage API keys in the OS keyring")
    auth.add_argument("action", choices=("set", "status", "delete"))
    auth.add_argument("provider", nargs="?")
    return parser


# --- edit -----------------------------------------------------------------------------------


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
    from .core.errors import MaskError
    from .core.pipeline.params import make_request, values_from_args
    from .core.pixels.imaging import header_size, load_image, load_mask

    if args.command != "expand":  # sizes from the headers first: nothing is decoded for a mismatch
        size, mask_size = header_size(args.image), header_size(args.mask)
        if size != mask_size:
            raise MaskError(
                f"The mask {args.mask.name} is {mask_size[0]}×{mask_size[1]} pixels but the photo "
                f"{args.image.name} is {size[0]}×{size[1]}; they must be the same size."
            )
    photo = load_image(args.image, keep_source=bool(getattr(args, "project", None)))
    if args.command == "expand":
        from .core.document.expand import expand_photo, pad_for_aspect, parse_aspect, parse_pad

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


def paid_work(job) -> list[str]:
    """One line per paid task or generation still running at the provider, with its resume
    command (printed on Ctrl-C, a timeout or a failure before the results arrived)."""
    from .core.errors import InvalidRequestError

    if (
        job is None
        or job.prepared is None
        or job.variants
        or isinstance(job.error, InvalidRequestError)
    ):
        return []  # results arrived, or the provider said the task failed: nothing runs on
    lines = []
    from .providers.answers import valid_id

    for t in job.prepared.remote_tasks:
        provider, ident = t.provider, t.task_id
        if valid_id(ident) and valid_id(provider):
            lines.append(
                f"{provider} task {ident} was paid for and may still finish: "
                f"inpaint-studio resume {ident} --provider {provider}"
            )
    return lines


async def _run_edit(args, request) -> int:
    from .core.errors import InpaintError
    from .core.formats.journal import default_journal
    from .core.formats.output import next_index, write_variant
    from .core.pipeline.jobs import JobRunner
    from .providers import create_provider, default_provider
    from .providers.base import make_client

    name = args.provider or default_provider()
    out_dir = _output_folder(args.out or args.image.parent)  # before anything is paid for
    if args.project is not None:
        _output_folder(args.project.parent or Path("."))
    journal = default_journal(f"cli-{os.getpid()}")
    async with make_client() as client:
        provider = create_provider(
            name, client, base_url=args.base_url, **_provider_options(args, name)
        )
        bar = _ProgressBar(sys.stderr.isatty() and not args.json)
        runner = JobRunner(
            client, listener=bar, journal=journal
        )  # every result is kept before outputs are written
        job = runner.submit(request, provider)
        _LAST_JOB["job"] = job  # so Ctrl-C can name the paid tasks
        try:
            await runner.wait(job)
        finally:
            bar.close()
    for note in job.notes:
        _say(f"Note: {note}\n")
    written = []
    stem = args.image.stem + ("-expanded" if args.command == "expand" else "")
    n = next_index(out_dir, stem)
    for v in job.variants:
        if v.safe and v.layer is not None:
            try:
                path = await asyncio.to_thread(
                    write_variant, job, v, out_dir, stem, n, raw=args.raw
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
        from .core.document.persist import job_project
        from .core.formats.project import save_project

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
        from .core.textsafe import clean_json

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


class _UsageError(Exception):
    pass


#: the job the running command submitted (Ctrl-C names its paid tasks)
_LAST_JOB: dict = {}


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
    from .providers import descriptions

    options: dict = {}
    for desc in descriptions():
        for opt in desc.options:
            value = getattr(args, f"option_{opt.name}", None)
            if value is None:
                continue
            if name != desc.name:
                raise _UsageError(f"{opt.cli} applies only to --provider {desc.name}.")
            options[opt.name] = value
    return options


def cmd_resume(args) -> int:
    """Download the images of a finished remote task (raw provider files, no composite)."""
    from .core.atomic import atomic_write
    from .core.errors import InpaintError
    from .core.formats.output import file_extension
    from .core.pipeline.net import download_image, is_loopback
    from .providers import create_provider
    from .providers.answers import valid_id
    from .providers.base import make_client

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

    async def run() -> list[Path]:
        async with make_client() as client:
            provider = create_provider(args.provider, client, base_url=args.base_url)
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
            loopback = is_loopback(urlsplit(provider.base_url).hostname or "")
            paths = []
            for i, url in enumerate(urls[:8], 1):
                data, _ = await download_image(client, url, allow_loopback=loopback)
                path = args.out / f"{args.task_id}-{i}.{file_extension(data)}"
                atomic_write(path, data)
                paths.append(path)
            return paths

    try:
        paths = asyncio.run(run())
    except _UsageError as exc:
        _say(f"inpaint-studio: {exc}\n")
        return EXIT_PROVIDER
    except InpaintError as exc:
        _say(f"inpaint-studio: {exc.message}\n")
        return exc.exit_code
    except OSError as exc:
        _say(
            f"inpaint-studio: the images could not be written to {args.out} ({exc.strerror or exc})."
        )
        return EXIT_PROVIDER
    if args.json:
        print(json.dumps({"task_id": args.task_id, "paths": [str(p) for p in paths]}))
    else:
        for p in paths:
            print(p)
    return EXIT_OK


def _reported(run, cancelled: str = "cancelled.") -> int:
    """``run()``'s exit status; every expected failure becomes one line on stderr."""
    from .core.errors import InpaintError

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


def cmd_edit(args) -> int:
    return _reported(lambda: asyncio.run(_run_edit(args, _build_request(args))))


# --- auth -----------------------------------------------------------------------------------


def cmd_auth(args) -> int:
    from .core.settings import delete_api_key, mask_key, set_api_key
    from .providers import PROVIDER_CLASSES

    needing = [n for n, c in PROVIDER_CLASSES.items() if c.capabilities.needs_key]
    if args.action == "status":
        import os

        from .providers.base import find_key

        for name in needing:
            cls = PROVIDER_CLASSES[name]
            key = find_key(cls)  # exactly the key the provider would use, aliases included
            env = next(
                (e for e in (cls.key_env, *cls.alt_key_envs) if e and os.environ.get(e)), None
            )
            where = f"from {env}" if env else "from the keyring"
            print(f"{name:<12} {'set ' + where + ' (' + mask_key(key) + ')' if key else 'not set'}")
        return EXIT_OK
    if args.provider not in needing:
        _say(f"inpaint-studio: name a provider that takes a key: {', '.join(needing)}.\n")
        return EXIT_INPUT
    if args.action == "delete":
        removed = delete_api_key(PROVIDER_CLASSES[args.provider].description.account)
        print(f"{args.provider}: key {'removed' if removed else 'was not stored'}.")
        return EXIT_OK
    try:
        key = getpass.getpass(f"API key for {args.provider} (not shown): ").strip()
    except (EOFError, KeyboardInterrupt):
        sys.stderr.write("\ninpaint-studio: no key entered.\n")
        return EXIT_INPUT
    if not key:
        _say("inpaint-studio: no key entered.\n")
        return EXIT_INPUT
    try:
        desc = PROVIDER_CLASSES[args.provider].description
        set_api_key(desc.account, key, desc.key_env)
    except RuntimeError as exc:
        _say(f"inpaint-studio: {exc}\n")
        return EXIT_INPUT
    print(f"{args.provider}: key stored in the system keyring ({mask_key(key)}).")
    return EXIT_OK


# --- entry points ---------------------------------------------------------------------------


def gui_main(argv: list[str] | None = None) -> int:
    """Open the editor (optionally on a photo)."""
    argv = sys.argv[1:] if argv is None else argv
    import os

    if (
        sys.platform.startswith("linux")
        and "--smoke-quit" not in argv
        and not os.environ.get("QT_QPA_PLATFORM")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    ):
        _say(
            "inpaint-studio: no display is available for the editor; "
            "use `inpaint-studio edit …` on the command line, or set DISPLAY.\n"
        )
        return EXIT_INPUT
    try:
        from .ui.app import run_app
    except ImportError as exc:
        _say(f"inpaint-studio: the editor cannot start: {exc}.\n")
        return EXIT_INPUT
    return run_app(argv)


def cmd_project(args) -> int:
    """``project info FILE``: validate a project (no pixels decoded, nothing written, no Qt);
    exit 0 with a summary, 2 with one line on stderr."""
    from .core.errors import InpaintError
    from .core.formats.project import inspect_project

    if args.action == "export":
        return cmd_project_export(args)
    try:
        info = inspect_project(args.file)
    except InpaintError as exc:
        _say(f"inpaint-studio: {exc}\n")
        return EXIT_INPUT
    except MemoryError:
        _say(f"inpaint-studio: “{args.file.name}” is too large to check.\n")
        return EXIT_INPUT
    if args.json:
        print(json.dumps(info, ensure_ascii=False))
    else:
        p = info["photo"]
        print(
            f"{args.file.name}: project format {info['format']}, photo {p['name']} {p['width']}×{p['height']}, "
            f"{info['layers']} layers, {info['jobs']} jobs, {info['accepted']} accepted edits, {info['bytes'] / 1e6:.1f} MB"
        )
    return EXIT_OK


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


async def _run_batch(args) -> int:
    from .core.errors import InvalidInput
    from .core.formats.journal import default_journal
    from .core.formats.output import next_index, write_variant
    from .core.pipeline.batch import BatchItem, InflightWindow, done_before, run_batch
    from .core.pipeline.jobs import JobRunner
    from .core.pipeline.params import make_request, to_json, values_from_args
    from .core.pipeline.request import EditRequest
    from .core.pixels.imaging import load_image, load_mask
    from .providers import create_provider, default_provider
    from .providers.base import make_client

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
        from .core.pipeline.net import RetryPolicy

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
        runner = JobRunner(client, journal=journal, concurrency=max(1, window.limit // images) + 1)

        from .core.pipeline.batch import ANSWERED

        async def make_job(item: BatchItem, answered):
            def load() -> EditRequest:
                photo = load_image(item.photo)
                mask = load_mask(item.mask, photo.size, white_edits=args.mask_white_edits)
                return make_request(photo, mask, values)

            request = await asyncio.to_thread(load)
            job = runner.submit(request, provider)

            def watch(j) -> None:  # the images leave flight when the provider answers
                if j is job and j.stage in ANSWERED:
                    answered(j.error is None)

            runner.changed.connect(watch)
            try:
                await runner.wait(job)
            finally:
                runner.changed.disconnect(watch)
            return job

        async def write(item: BatchItem, job) -> list[str]:
            paths = []
            n = next_index(out_dir, item.photo.stem)
            for v in job.variants:
                if v.safe and v.layer is not None:
                    try:
                        path = await asyncio.to_thread(
                            write_variant, job, v, out_dir, item.photo.stem, n
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


def cmd_select(args) -> int:
    """``select IMAGE --box X0,Y0,X1,Y1 --out MASK.png``: exit 0, or 2 with one line on stderr."""
    from .core.atomic import atomic_write
    from .core.errors import InpaintError
    from .core.pixels.imaging import encode_mask, load_image
    from .core.pixels.select import select_subject

    try:
        box = tuple(int(v) for v in args.box.split(","))
        if len(box) != 4 or box[2] <= box[0] or box[3] <= box[1]:
            raise ValueError
    except ValueError:
        _say(
            f"inpaint-studio: --box takes X0,Y0,X1,Y1 with X1 > X0 and Y1 > Y0, not “{args.box}”.\n"
        )
        return EXIT_INPUT
    try:
        photo = load_image(args.image)
        w, h = photo.size
        if box[0] >= w or box[1] >= h or box[2] <= 0 or box[3] <= 0:
            _say(f"inpaint-studio: the box {args.box} lies outside the {w}×{h} photo.\n")
            return EXIT_INPUT
        sel = select_subject(photo.rgb, box)
        atomic_write(args.out, encode_mask(sel, edit_is_black=True))
    except InpaintError as exc:
        _say(f"inpaint-studio: {exc}\n")
        return EXIT_INPUT
    except OSError as exc:
        _say(f"inpaint-studio: cannot write {args.out}: {exc.strerror or exc}.\n")
        return EXIT_INPUT
    if args.json:
        print(
            json.dumps(
                {
                    "out": str(args.out),
                    "width": w,
                    "height": h,
                    "selected": int(sel.sum()),
                    "box": list(box),
                }
            )
        )
    else:
        print(args.out)
    return EXIT_OK


def cmd_project_export(args) -> int:
    """``project export FILE --out X.psd|X.ora|X.png``: the original, the accepted edits and
    every variant as named layers (hidden ones hidden); exit 0, or 2 with one line on stderr."""
    from .core.errors import InpaintError
    from .core.formats.layered import LAYERED_FORMATS, export_layers, stack_from_project
    from .core.formats.project import read_project

    out = args.out
    if out is None or out.suffix.lower() not in LAYERED_FORMATS:
        _say("inpaint-studio: give --out X.psd, X.ora or X.png.\n")
        return EXIT_INPUT
    if not out.parent.is_dir():
        _say(f"inpaint-studio: the folder “{out.parent}” does not exist.\n")
        return EXIT_INPUT
    try:
        state = read_project(args.file)
        photo, layers = stack_from_project(state)
        export_layers(out, photo, layers, {"app": "Inpaint Studio", "source": args.file.name})
    except InpaintError as exc:
        _say(f"inpaint-studio: {exc}\n")
        return EXIT_INPUT
    except OSError as exc:
        _say(f"inpaint-studio: cannot write {out.name}: {exc.strerror or exc}.\n")
        return EXIT_INPUT
    summary = {
        "out": str(out),
        "layers": [
            {
                "name": lay.name,
                "x": lay.x,
                "y": lay.y,
                "width": lay.rgba.shape[1],
                "height": lay.rgba.shape[0],
                "visible": lay.visible,
            }
            for lay in layers
        ],
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(f"{out}: {len(layers)} layers ({sum(lay.visible for lay in layers)} visible)")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in (
        "edit",
        "expand",
        "batch",
        "auth",
        "resume",
        "project",
        "select",
        "-h",
        "--help",
        "--version",
    ):
        return gui_main(argv)
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except Exception as exc:  # a bug: a sentence and a crash report, never a traceback
        from .core.crash import write_crash_report

        _say(
            f"inpaint-studio: something went wrong inside Inpaint Studio; a report was written to "
            f"{write_crash_report(exc)}.\n"
        )
        return EXIT_PROVIDER


def _dispatch(args) -> int:
    if args.command in ("edit", "expand"):
        return cmd_edit(args)
    if args.command == "batch":
        return cmd_batch(args)
    if args.command == "auth":
        return cmd_auth(args)
    if args.command == "resume":
        return cmd_resume(args)
    if args.command == "project":
        return cmd_project(args)
    if args.command == "select":
        return cmd_select(args)
    build_parser().print_help()
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
