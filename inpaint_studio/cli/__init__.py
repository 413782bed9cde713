"""Command line: ``inpaint-studio edit``, ``auth``, ``--version``; no subcommand opens the editor.

Exit status of ``edit``: 0 every returned variant written; 1 provider or network failure
(a prompt refused with 422 included); 2 invalid input (usage, validation, unreadable file,
no key); 3 the provider answered but withheld every variant. Errors are one line on stderr,
never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .. import __version__
from .batch import cmd_batch
from .commands import cmd_auth, cmd_project, cmd_select
from .common import EXIT_INPUT, EXIT_OK, EXIT_PROVIDER, _say
from .edit import cmd_edit
from .paid import cmd_resume


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        _say(f"inpaint-studio: {message[0].upper() + message[1:]} (see --help).\n")
        raise SystemExit(EXIT_INPUT)


def _edit_parser(sub, command: str = "edit") -> None:
    from ..core.pipeline.params import add_arguments
    from ..providers import descriptions, provider_names

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
    flags: dict[str, list] = {}  # each provider's own options, from its description; one
    for desc in descriptions():  # flag may serve several (--model: ideogram, cometapi)
        for opt in desc.options:
            flags.setdefault(opt.cli, []).append((desc.name, opt))
    for cli, owners in flags.items():
        choices = list(dict.fromkeys(v for _, opt in owners for v, _ in opt.choices)) or None
        p.add_argument(
            cli,
            dest=f"option_{owners[0][1].name}",
            choices=choices,
            metavar=None if choices else "VALUE",
            help="; ".join(f"{name}: {opt.help}" for name, opt in owners),
        )
    add_arguments(p)  # every request parameter, from core/params.py
    p.add_argument("--out", type=Path, help="output folder (default: beside the image)")
    p.add_argument("--raw", action="store_true", help="also keep each provider image as returned")
    p.add_argument(
        "--no-embed",
        action="store_true",
        help="embed no prompt or parameters in the files written (never a local path either way)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument(
        "--quote",
        action="store_true",
        help="print what the job would cost and send nothing billable (Ideogram 4.x: its exact "
        "dry_run price; others: their published price, or unknown)",
    )
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
    from ..providers import descriptions

    resumable = tuple(d.name for d in descriptions() if d.can_resume)
    resume = sub.add_parser(
        "resume",
        help=f"list unfinished paid work, or fetch a generation or task by its id "
        f"({', '.join(resumable)})",
        description="With no id: every unfinished paid job found on this machine, with its "
        "command. With an id: its results, composited onto the photo when this machine "
        "started the job, else the provider's images as they are.",
    )
    resume.add_argument("task_id", nargs="?")
    resume.add_argument(
        "--provider", choices=resumable, help="default: the one that started it, else magnific"
    )
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
        help="export: X.psd (Photoshop, Krita, GIMP), X.ora (OpenRaster: Krita, MyPaint) or X.png (flat)",
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


def gui_main(argv: list[str] | None = None) -> int:
    """Open the editor (optionally on a photo)."""
    argv = sys.argv[1:] if argv is None else argv

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
        from ..ui.app import run_app
    except ImportError as exc:
        _say(f"inpaint-studio: the editor cannot start: {exc}.\n")
        return EXIT_INPUT
    return run_app(argv)


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
        from ..core.crash import write_crash_report

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
