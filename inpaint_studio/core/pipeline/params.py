"""The request parameters, described once.

:data:`PARAMS` lists every parameter of an :class:`~inpaint_studio.core.pipeline.request.EditRequest`
the user chooses: its type, range, default, which :class:`Capabilities` flag allows it, its
``edit`` command-line flag, the Generate panel's widget (``objectName``), whether projects and
history keep it. From it come:

- :func:`to_json` / :func:`from_json`: project files, history, sidecars
  (``to_json(request)`` and ``request_from_parameters``);
- :func:`refused`: the "provider X does not support Y" rules of ``Capabilities.problems``;
- :func:`add_arguments` / :func:`values_from_args`: the ``edit`` command's flags;
- :func:`wire_values`: the simple fields a provider sends, under the names its description
  gives (each provider declares its wire schema: ``ProviderDescription.wire``);
- the Generate panel's read/write and which rows a provider shows (``ui/generate_panel.py``).

Adding a parameter is one entry here (plus its wire name in each provider that sends it, and a field of
``EditRequest``). Field names and values follow the Ideogram 3.0 edit API
(shared/docs/providers.md, "Ideogram 3.0").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ValidationError
from ..pixels.imaging import Photo
from .request import Capabilities, EditRequest, validate


class Kind(StrEnum):
    """How a parameter is stored, shown and typed."""

    TEXT = "text"  #: a string; empty = not set
    CHOICE = "choice"  #: one of an enum's values, or None = not set
    INT = "int"  #: an integer in ``range``
    BOOL = "bool"
    CODES = "codes"  #: a tuple of short strings (style codes)
    IMAGES = "images"  #: a tuple of ``ReferenceImage`` (projects keep only their names here)
    PALETTE = "palette"  #: a :class:`ColorPalette` or None


@dataclass(frozen=True)
class Param:
    """One request parameter.

    Attributes:
        name: the ``EditRequest`` field, the project key and the default wire name.
        kind: see :class:`Kind`.
        default: its value when not chosen.
        label: the panel's row label.
        choices: the enum of a ``CHOICE`` (its members' values are the allowed values).
        range: inclusive ``(low, high)`` of an ``INT``.
        optional: an ``INT`` may be None (not set: the seed is then random).
        capability: the ``Capabilities`` flag a provider needs to take it when set; None =
            every provider takes it.
        refused_as: how "does not support …" names it.
        cli: the ``edit`` command's flag, or "" when it has none (set specially).
        cli_help: its help text.
        widget: the Generate panel control's ``objectName``.
        persisted: kept in projects, history and sidecars.
    """

    name: str
    kind: Kind
    default: Any
    label: str
    choices: type[StrEnum] | None = None
    range: tuple[int, int] | None = None
    optional: bool = False
    capability: str | None = None
    refused_as: str = ""
    cli: str = ""
    cli_help: str = ""
    widget: str = ""
    persisted: bool = True

    def is_set(self, value: Any) -> bool:
        """Whether ``value`` counts as chosen (None, "" and empty tuples do not)."""
        return value is not None and value != "" and value != ()

    def encode(self, value: Any) -> Any:
        """The JSON form of ``value``."""
        if self.kind is Kind.CHOICE:
            return value.value if value is not None else None
        if self.kind is Kind.CODES:
            return list(value)
        if self.kind is Kind.IMAGES:
            return [r.name for r in value]
        if self.kind is Kind.PALETTE:
            return value.to_json() if value is not None else None
        return value

    def decode(self, data: Any) -> Any:
        """The value from its JSON form; anything of the wrong type or out of range gives the
        default (a project file is untrusted)."""
        from .request import ColorPalette, PaletteMember

        k = self.kind
        if k is Kind.TEXT:
            return data if isinstance(data, str) else self.default
        if k is Kind.CHOICE:
            try:
                assert self.choices is not None  # a CHOICE has its enum
                return self.choices(data) if isinstance(data, str) and data else self.default
            except ValueError:
                return self.default
        if k is Kind.INT:
            if data is None and self.optional:
                return None
            if (
                isinstance(data, bool)
                or not isinstance(data, int | float)
                or not math.isfinite(data)
            ):
                return self.default
            lo, hi = self.range or (-(2**63), 2**63)
            return int(data) if lo <= data <= hi else self.default
        if k is Kind.BOOL:
            return data if isinstance(data, bool) else self.default
        if k is Kind.CODES:
            return (
                tuple(c for c in data if isinstance(c, str))[:64]
                if isinstance(data, list)
                else self.default
            )
        if k is Kind.IMAGES:
            return ()
        if k is Kind.PALETTE:
            if not isinstance(data, dict):
                return None
            if isinstance(data.get("name"), str) and data["name"]:
                return ColorPalette(name=data["name"])
            members = data.get("members")
            if not isinstance(members, list):
                return None
            out = []
            for m in members[:16]:
                if isinstance(m, dict) and isinstance(m.get("color_hex"), str):
                    w = m.get("color_weight")
                    out.append(
                        PaletteMember(
                            m["color_hex"],
                            float(w)
                            if isinstance(w, int | float) and not isinstance(w, bool)
                            else None,
                        )
                    )
            return ColorPalette(members=tuple(out))
        return self.default


def _params() -> tuple[Param, ...]:
    from .request import (
        DEFAULT_FEATHER,
        MAX_IMAGES,
        MAX_SEED,
        ContextMode,
        FeatherMode,
        GrainMode,
        MagicPrompt,
        Quality,
        RenderingSpeed,
        StyleType,
    )

    return (
        Param(
            "prompt",
            Kind.TEXT,
            "",
            "Prompt",
            widget="promptEdit",
            cli="--prompt",
            cli_help="what to paint in the masked area",
        ),
        Param(
            "negative_prompt",
            Kind.TEXT,
            None,
            "Negative",
            capability="negative_prompt",
            refused_as="a negative prompt",
            widget="negativePromptEdit",
            cli="--negative-prompt",
            cli_help="what to keep out (1min only)",
        ),
        Param(
            "rendering_speed",
            Kind.CHOICE,
            RenderingSpeed.DEFAULT,
            "Speed",
            choices=RenderingSpeed,
            widget="speedSelector",
            cli="--speed",
            cli_help="rendering speed",
        ),
        Param(
            "quality",
            Kind.CHOICE,
            None,
            "Quality",
            choices=Quality,
            capability="quality",
            refused_as="a quality setting (it has rendering speeds)",
            widget="qualitySelector",
            cli="--quality",
            cli_help="Ideogram 4.x quality (replaces --speed; default medium)",
        ),
        Param(
            "num_images",
            Kind.INT,
            1,
            "Images",
            range=(1, MAX_IMAGES),
            widget="numImagesSpin",
            cli="--num-images",
            cli_help="variants, 1-8",
        ),
        Param(
            "seed",
            Kind.INT,
            None,
            "Seed",
            range=(0, MAX_SEED),
            optional=True,
            widget="seedSpin",
            cli="--seed",
            cli_help="0-2147483647; random when omitted",
        ),
        Param(
            "magic_prompt",
            Kind.CHOICE,
            None,
            "MagicPrompt",
            choices=MagicPrompt,
            capability="magic_prompt",
            refused_as="MagicPrompt",
            widget="magicPromptCombo",
            cli="--magic-prompt",
            cli_help="let the provider rewrite the prompt",
        ),
        Param(
            "style_type",
            Kind.CHOICE,
            None,
            "Style type",
            choices=StyleType,
            widget="styleTypeCombo",
            cli="--style-type",
            cli_help="style type",
        ),
        Param(
            "style_preset",
            Kind.TEXT,
            None,
            "Style preset",
            capability="style_preset",
            refused_as="style presets",
            widget="stylePresetCombo",
            cli="--style-preset",
            cli_help="one of the 62 Ideogram 3.0 presets",
        ),
        Param(
            "style_codes",
            Kind.CODES,
            (),
            "Style codes",
            capability="style_codes",
            refused_as="style codes",
            widget="styleCodesEdit",
            cli="--style-code",
            cli_help="8 hex digits; repeat for several",
        ),
        Param(
            "style_references",
            Kind.IMAGES,
            (),
            "Style refs",
            capability="style_references",
            refused_as="style reference images",
            widget="styleRefList",
            cli="--style-ref",
            cli_help="style reference image; repeat for several",
        ),
        Param(
            "character_references",
            Kind.IMAGES,
            (),
            "Character",
            capability="character_reference",
            refused_as="character reference images",
            widget="characterRefList",
            cli="--character-ref",
            cli_help="character reference image (one)",
        ),
        Param(
            "references",
            Kind.IMAGES,
            (),
            "References",
            capability="max_references",
            refused_as="reference images",
            widget="referenceList",
            cli="--reference",
            cli_help="Ideogram 4.x reference image; repeat for several (at most 3 with a mask)",
        ),
        Param(
            "color_palette",
            Kind.PALETTE,
            None,
            "Palette",
            capability="color_palette",
            refused_as="colour palettes",
            widget="paletteCombo",
            cli="--palette",
            cli_help="colour palette preset; or --palette-color",
        ),
        Param(
            "context",
            Kind.CHOICE,
            ContextMode.AUTO,
            "Context",
            choices=ContextMode,
            widget="contextCombo",
            cli="--context",
            cli_help="which part of the photo is sent",
        ),
        Param(
            "feather",
            Kind.INT,
            DEFAULT_FEATHER,
            "Edge feather",
            range=(0, 256),
            widget="featherSpin",
            cli="--feather",
            cli_help="soft edge at the mask's edge, px (0 = hard)",
        ),
        Param(
            "feather_mode",
            Kind.CHOICE,
            FeatherMode.INWARD,
            "Feather band",
            choices=FeatherMode,
            widget="featherModeCombo",
            cli="--feather-mode",
            cli_help="the feathered band inside the mask edge (default), centred on it or outside it",
        ),
        Param(
            "colour_match",
            Kind.BOOL,
            True,
            "Colour match",
            widget="colourMatchCheck",
            cli="--no-colour-match",
            cli_help="do not match the edit's colour to its surroundings",
        ),
        Param(
            "grain",
            Kind.CHOICE,
            GrainMode.AUTO,
            "Grain",
            choices=GrainMode,
            widget="grainCombo",
            cli="--grain",
            cli_help="add the photo's grain to a result upscaled to fit its region (auto) or never (off)",
        ),
    )


_cache: tuple[Param, ...] | None = None


def params() -> tuple[Param, ...]:
    """Every request parameter, in the Generate panel's order."""
    global _cache
    if _cache is None:
        _cache = _params()
    return _cache


def param(name: str) -> Param:
    """Raises: KeyError."""
    for p in params():
        if p.name == name:
            return p
    raise KeyError(name)


def to_json(values: Any) -> dict:
    """The persisted parameters of ``values`` (an ``EditRequest`` or its keyword dict) as JSON."""
    get = values.get if isinstance(values, Mapping) else lambda n, d=None: getattr(values, n, d)
    return {p.name: p.encode(get(p.name, p.default)) for p in params() if p.persisted}


def from_json(data: Any) -> dict:
    """``EditRequest`` keyword arguments from :func:`to_json`'s output (untrusted: wrong
    types and out-of-range values become defaults; reference images come back empty)."""
    data = data if isinstance(data, dict) else {}
    return {p.name: p.decode(data.get(p.name, p.encode(p.default))) for p in params()}


def refused(request, capabilities, provider: str) -> list:
    """One :class:`~inpaint_studio.core.errors.Problem` per set parameter whose capability
    flag ``capabilities`` lacks."""
    from ..errors import Problem

    out = []
    for p in params():
        if (
            p.capability
            and p.is_set(getattr(request, p.name))
            and not getattr(capabilities, p.capability)
        ):
            out.append(Problem(p.name, f"{provider} does not support {p.refused_as}."))
    return out


def allowed(p: Param, capabilities) -> bool:
    """Whether a provider with ``capabilities`` shows ``p``'s control."""
    if p.name == "style_type":
        return bool(capabilities.style_types)
    if p.name == "rendering_speed":
        return bool(capabilities.rendering_speed)
    return p.capability is None or bool(getattr(capabilities, p.capability))


def wire_values(request, wire: Mapping[str, str]) -> dict[str, Any]:
    """``{wire name: value}`` of the plain fields a provider sends: ``wire`` is its
    description's map of parameter name → field name on its wire
    (:attr:`~inpaint_studio.core.pipeline.protocol.ProviderDescription.wire`). Only fields that are
    set; enums and palettes as they go on the wire (use ``set_fields`` for multipart text)."""
    out = {}
    for p in params():
        name = wire.get(p.name)
        value = getattr(request, p.name)
        if name and p.is_set(value):
            out[name] = value.to_json() if p.kind is Kind.PALETTE else value
    return out


# --- the edit command's flags ------------------------------------------------------------------


def add_arguments(parser) -> None:
    """Add every parameter's ``edit`` flag to an ``argparse`` parser."""
    for p in params():
        if not p.cli:
            continue
        dest = f"param_{p.name}"
        if p.kind is Kind.CHOICE:
            assert p.choices is not None
            parser.add_argument(
                p.cli, dest=dest, choices=[c.value for c in p.choices], help=p.cli_help
            )
        elif p.kind is Kind.INT:
            parser.add_argument(p.cli, dest=dest, type=int, metavar="N", help=p.cli_help)
        elif p.kind is Kind.BOOL:
            parser.add_argument(
                p.cli, dest=dest, action="store_const", const=not p.default, help=p.cli_help
            )
        elif p.kind is Kind.CODES:
            parser.add_argument(
                p.cli, dest=dest, action="append", default=[], metavar="VALUE", help=p.cli_help
            )
        elif p.kind is Kind.IMAGES:
            parser.add_argument(
                p.cli,
                dest=dest,
                action="append",
                default=[],
                type=Path,
                metavar="FILE",
                help=p.cli_help,
            )
        elif p.kind is Kind.PALETTE:
            group = parser.add_mutually_exclusive_group()
            group.add_argument(p.cli, dest=dest, metavar="NAME", help=p.cli_help)
            group.add_argument(
                p.cli + "-color",
                dest=dest + "_members",
                action="append",
                default=[],
                metavar="#RRGGBB[:WEIGHT]",
                help="a custom palette colour; repeat for several",
            )
        else:
            parser.add_argument(
                p.cli,
                dest=dest,
                metavar="NAME" if p.name == "style_preset" else "TEXT",
                help=p.cli_help,
            )


def values_from_args(args) -> dict:
    """``EditRequest`` keyword arguments from parsed flags (reference files are read here).

    Raises:
        ImageLoadError: a reference image cannot be read.
    """
    from ..pixels.imaging import load_reference
    from .request import ColorPalette

    out: dict = {}
    for p in params():
        if not p.cli:
            continue
        value = getattr(args, f"param_{p.name}", None)
        if p.kind is Kind.CHOICE:
            assert p.choices is not None
            out[p.name] = p.choices(value) if value else p.default
        elif p.kind is Kind.INT:
            out[p.name] = value if value is not None else p.default
        elif p.kind is Kind.BOOL:
            out[p.name] = p.default if value is None else value
        elif p.kind is Kind.CODES:
            out[p.name] = tuple(value or ())
        elif p.kind is Kind.IMAGES:
            out[p.name] = tuple(load_reference(f) for f in value or ())
        elif p.kind is Kind.PALETTE:
            members = getattr(args, f"param_{p.name}_members", None) or []
            out[p.name] = (
                ColorPalette(name=value.upper())
                if value
                else ColorPalette(members=tuple(ColorPalette.parse_member(c) for c in members))
                if members
                else None
            )
        elif p.name == "style_preset":
            out[p.name] = value.upper() if value else None
        else:
            out[p.name] = value if value is not None else p.default
    return out


__all__ = [
    "Kind",
    "Param",
    "add_arguments",
    "allowed",
    "from_json",
    "make_request",
    "param",
    "params",
    "refused",
    "to_json",
    "values_from_args",
    "wire_values",
]


def check(
    request: EditRequest, capabilities: Capabilities | None = None, provider: str = ""
) -> None:
    """Validate ``request`` (and, given ``capabilities``, the provider's limits).

    Raises:
        ValidationError: listing every broken rule, before any network traffic.
    """
    prompt_required = capabilities.prompt_required if capabilities else True
    problems = validate(request, prompt_required=prompt_required)
    if capabilities is not None:
        problems += capabilities.problems(request, provider) + refused(
            request, capabilities, provider
        )
    if problems:
        raise ValidationError(problems)


def make_request(
    photo: Photo, mask: np.ndarray, values: Mapping[str, Any], *, mask_alpha=None
) -> EditRequest:
    """The one way a request is built, for the editor's document, ``edit``, ``batch``,
    Replay and history: ``photo``, ``(H, W) bool`` ``mask`` (its size), the optional
    ``(H, W) uint8`` soft mask and ``values`` by parameter name (typed, as
    :func:`from_json` or the document give them; other keys such as ``provider`` are
    ignored, missing ones take their defaults)."""
    kwargs = {p.name: values.get(p.name, p.default) for p in params()}
    return EditRequest(photo=photo, mask=mask, mask_alpha=mask_alpha, **kwargs)


def request_from_parameters(params: dict, photo: Photo, mask: np.ndarray) -> EditRequest:
    """Rebuild a request from :func:`to_json`'s output (history, projects, replay).

    Reference images are not part of the parameters (only their names): they come back
    empty. Unknown, missing or invalid values fall back to the defaults (:func:`from_json`).
    """
    return make_request(photo, mask, from_json(params))
