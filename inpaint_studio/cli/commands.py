"""``auth``, ``project`` (info, export) and ``select``."""

from __future__ import annotations

import getpass
import json
import sys

from .common import EXIT_INPUT, EXIT_OK, _say


def cmd_auth(args) -> int:
    from ..core.settings import delete_api_key, mask_key, set_api_key
    from ..providers import PROVIDER_CLASSES

    needing = [n for n, c in PROVIDER_CLASSES.items() if c.capabilities.needs_key]
    if args.action == "status":
        import os

        from ..providers.base import find_key

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


def cmd_project(args) -> int:
    """``project info FILE``: validate a project (no pixels decoded, nothing written, no Qt);
    exit 0 with a summary, 2 with one line on stderr."""
    from ..core.errors import InpaintError
    from ..core.formats.project_reader import inspect_project

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


def cmd_select(args) -> int:
    """``select IMAGE --box X0,Y0,X1,Y1 --out MASK.png``: exit 0, or 2 with one line on stderr."""
    from ..core.atomic import atomic_write
    from ..core.errors import InpaintError
    from ..core.pixels.imaging import encode_mask, load_image
    from ..core.pixels.select import select_subject

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
    from ..core.errors import InpaintError
    from ..core.formats.layered import LAYERED_FORMATS, export_layers, stack_from_project
    from ..core.formats.project_reader import read_project

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
