"""The edit request: one validated value holding everything an inpainting job needs.

Field names and allowed values follow the Ideogram 3.0 edit API (shared/docs/providers.md,
"Ideogram 3.0"); the rules :func:`validate` enforces come from that document and from the
gateway copies of the rules it cites.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

import numpy as np

from ..errors import Problem
from ..pixels.imaging import UPLOAD_FORMATS, UPLOAD_LIMIT, Photo, ReferenceImage

MAX_SEED = 2_147_483_647
MAX_IMAGES = 8
#: The sizes Ideogram answers with (its resolutions near 1 MP; the loopback server's too).
IDEOGRAM_ANSWER_SIZES = (
    (1024, 1024),
    (1152, 896),
    (896, 1152),
    (1216, 832),
    (832, 1216),
    (1344, 768),
    (768, 1344),
    (1536, 640),
    (640, 1536),
)
DEFAULT_FEATHER = 4  # px; see README "Compositing"


class RenderingSpeed(StrEnum):
    """Ideogram 3.0 ``rendering_speed``: FLASH < TURBO < DEFAULT < QUALITY (time and cost)."""

    FLASH = "FLASH"
    TURBO = "TURBO"
    DEFAULT = "DEFAULT"
    QUALITY = "QUALITY"


class Quality(StrEnum):
    """Ideogram 4.5 Precise Edit ``quality`` (shared/docs/providers.md, "Ideogram API v2"):
    very_low < low < medium (its default) < high, in time and price."""

    VERY_LOW = "very_low"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


#: the quality a draft is made at (very_low, low) and a final re-rendered at
DRAFT_QUALITIES = frozenset({Quality.VERY_LOW, Quality.LOW})


class MagicPrompt(StrEnum):
    """``magic_prompt``: let the provider rewrite the prompt."""

    AUTO = "AUTO"
    ON = "ON"
    OFF = "OFF"


class StyleType(StrEnum):
    """Ideogram 3.0 ``style_type`` (``RENDER_3D``/``ANIME`` exist only on Ideogram 2.0)."""

    AUTO = "AUTO"
    GENERAL = "GENERAL"
    REALISTIC = "REALISTIC"
    DESIGN = "DESIGN"
    FICTION = "FICTION"
    RENDER_3D = "RENDER_3D"
    ANIME = "ANIME"


class GrainMode(StrEnum):
    """Whether an upscaled result gets the photo's grain: see
    :func:`inpaint_studio.core.pipeline.composite.match_grain`."""

    AUTO = "auto"
    OFF = "off"


class FeatherMode(StrEnum):
    """Where the feathered band lies on the painted edge: inside it (the default: nothing
    outside the mask changes), centred on it, or outside it (the edit keeps its painted
    size; the band blends into the surroundings)."""

    INWARD = "inward"
    CENTRED = "centred"
    OUTWARD = "outward"


class ContextMode(StrEnum):
    """Which part of the photo is sent: see :mod:`inpaint_studio.core.pipeline.context`."""

    AUTO = "auto"
    FULL = "full"
    CROP = "crop"


PALETTE_PRESETS = ("EMBER", "FRESH", "JUNGLE", "MAGIC", "MELON", "MOSAIC", "PASTEL", "ULTRAMARINE")
_HEX_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_STYLE_CODE_RE = re.compile(r"^[0-9a-fA-F]{8}$")


def _resources() -> Path:
    here = Path(__file__).resolve().parents[2]  # the inpaint_studio package
    for cand in (here / "resources", here.parent / "resources"):
        if cand.is_dir():
            return cand
    raise FileNotFoundError("resources folder not found")


def resource_path(*parts: str) -> Path:
    """Path of a file in the shipped ``resources/`` folder (installed or source tree)."""
    return _resources().joinpath(*parts)


@cache
def style_presets() -> tuple[str, ...]:
    """The 62 Ideogram 3.0 ``style_preset`` names, from ``resources/style_presets.json``."""
    data = json.loads(resource_path("style_presets.json").read_text("utf-8"))
    return tuple(data["style_presets"])


@dataclass(frozen=True)
class PaletteMember:
    """One colour of a custom palette: ``color_hex`` ``#RGB``/``#RRGGBB``, weight 0.05–1.0."""

    color_hex: str
    color_weight: float | None = None

    def to_json(self) -> dict:
        out: dict = {"color_hex": self.color_hex}
        if self.color_weight is not None:
            out["color_weight"] = self.color_weight
        return out


@dataclass(frozen=True)
class ColorPalette:
    """``color_palette``: a preset ``name`` or 1–8 ``members``, never both."""

    name: str | None = None
    members: tuple[PaletteMember, ...] = ()

    def to_json(self) -> dict:
        """The object Ideogram 3.0 and Magnific take: ``{"name"}`` or ``{"members": [...]}``."""
        if self.name is not None:
            return {"name": self.name}
        return {"members": [m.to_json() for m in self.members]}

    @staticmethod
    def parse_member(text: str) -> PaletteMember:
        """Parse ``'#RRGGBB'`` or ``'#RRGGBB:0.5'`` (weight validated later)."""
        hex_, _, weight = text.partition(":")
        try:
            w = float(weight) if weight else None
        except ValueError:
            w = float("nan")
        return PaletteMember(hex_.strip(), w)


@dataclass(frozen=True, eq=False)
class EditRequest:
    """Everything one inpainting job needs; immutable (use :func:`dataclasses.replace`).

    Attributes:
        prompt: what to paint in the masked area.
        photo: the decoded photo (:class:`~inpaint_studio.core.pixels.imaging.Photo`).
        mask: ``(H, W) bool``, ``True`` = edit, same size as the photo.
        rendering_speed: FLASH, TURBO, DEFAULT (default) or QUALITY.
        magic_prompt, style_type, style_preset, negative_prompt, color_palette: ``None`` =
            not set, so not sent.
        style_codes: 8-hex-digit codes.
        style_references, character_references: images to upload.
        quality: Ideogram 4.x quality (very_low … high), or ``None`` = not set (not sent; the
            model's default, medium).
        references: reference images of Ideogram 4.x Precise Edit (``reference_images``).
        seed: 0–2147483647, or ``None`` for random (the provider picks; the result says which).
        num_images: variants to make, 1–8.
        context: which region is sent (auto, full, crop).
        feather: width in px of the soft transition band at the mask edge; 0 = hard.
        feather_mode: where the band lies: inside the edge (default), centred on it, or
            outside it (:class:`FeatherMode`).
        colour_match: shift the edited region's mean colour to match the ring around it.
        grain: ``auto`` adds grain matching the photo's to a result upscaled by more than
            :data:`~inpaint_studio.core.pipeline.composite.GRAIN_UPSCALE` (``off``: never).
        mask_alpha: ``(H, W) uint8`` soft mask (blend strength 0–255, > 0 exactly where
            ``mask`` is set) painted with a soft or translucent brush, or ``None`` (hard).
            Providers never see it: they get the two-level ``mask``; the blend uses it.
    """

    prompt: str
    photo: Photo
    mask: np.ndarray
    rendering_speed: RenderingSpeed = RenderingSpeed.DEFAULT
    magic_prompt: MagicPrompt | None = None
    style_type: StyleType | None = None
    style_preset: str | None = None
    style_codes: tuple[str, ...] = ()
    style_references: tuple[ReferenceImage, ...] = ()
    character_references: tuple[ReferenceImage, ...] = ()
    references: tuple[ReferenceImage, ...] = ()
    quality: Quality | None = None
    color_palette: ColorPalette | None = None
    negative_prompt: str | None = None
    seed: int | None = None
    num_images: int = 1
    context: ContextMode = ContextMode.AUTO
    feather: int = DEFAULT_FEATHER
    feather_mode: FeatherMode = FeatherMode.INWARD
    colour_match: bool = True
    grain: GrainMode = GrainMode.AUTO
    mask_alpha: np.ndarray | None = None


def random_seed() -> int:
    """A random seed in Ideogram's range 0–2147483647."""
    return random.randint(0, MAX_SEED)


def _palette_problems(p: ColorPalette) -> list[Problem]:
    out: list[Problem] = []
    if p.name is not None and p.members:
        out.append(
            Problem("color_palette", "Choose either a palette preset or custom colours, not both.")
        )
    if p.name is not None and p.name not in PALETTE_PRESETS:
        out.append(
            Problem(
                "color_palette",
                f"“{p.name}” is not a palette preset; use one of {', '.join(PALETTE_PRESETS)}.",
            )
        )
    if p.name is None and not 1 <= len(p.members) <= 8:
        out.append(Problem("color_palette", "A custom palette needs 1 to 8 colours."))
    for m in p.members:
        if not _HEX_RE.match(m.color_hex):
            out.append(
                Problem(
                    "color_palette",
                    f"“{m.color_hex}” is not a colour; write it as #RGB or #RRGGBB.",
                )
            )
        if m.color_weight is not None and not (0.05 <= m.color_weight <= 1.0):
            out.append(
                Problem(
                    "color_palette", f"The weight of {m.color_hex} must be between 0.05 and 1.0."
                )
            )
    return out


def validate(request: EditRequest, *, prompt_required: bool = True) -> list[Problem]:
    """Check every rule of the request; return one :class:`Problem` per broken rule.

    Rules (shared/docs/providers.md, Ideogram 3.0 and "Constraints seen in gateway copies"):
    non-empty prompt (unless ``prompt_required`` is False, as for the offline engine); a mask
    with at least one edit pixel; style codes not with a style type or style references; a
    preset not with style references; a preset or style references only with style type
    AUTO/GENERAL; at most one character reference, not with FLASH, and only with style type
    AUTO/REALISTIC/FICTION; reference files JPEG/PNG/WebP and at most 10 MB together; seed
    0–2147483647; 1–8 images; palette rules of :class:`ColorPalette`.
    """
    r = request
    out: list[Problem] = []
    if prompt_required and not r.prompt.strip():
        out.append(Problem("prompt", "Describe the change: the prompt is empty."))
    if r.mask.shape != r.photo.rgb.shape[:2]:
        h, w = r.photo.rgb.shape[:2]
        out.append(
            Problem(
                "mask",
                f"The mask is {r.mask.shape[1]}×{r.mask.shape[0]} pixels but the photo is {w}×{h}.",
            )
        )
    elif not r.mask.any():
        out.append(Problem("mask", "The mask is empty: paint the area to change first."))
    st = r.style_type
    if r.style_codes:
        if st is not None:
            out.append(
                Problem(
                    "style_codes",
                    "Style codes cannot be combined with a style type; clear one of them.",
                )
            )
        if r.style_references:
            out.append(
                Problem(
                    "style_codes",
                    "Style codes cannot be combined with style reference images; clear one of them.",
                )
            )
        for code in r.style_codes:
            if not _STYLE_CODE_RE.match(code):
                out.append(
                    Problem(
                        "style_codes",
                        f"“{code}” is not a style code; a code is 8 hexadecimal digits.",
                    )
                )
    if r.style_preset is not None:
        if r.style_preset not in style_presets():
            out.append(
                Problem("style_preset", f"“{r.style_preset}” is not an Ideogram 3.0 style preset.")
            )
        if r.style_references:
            out.append(
                Problem(
                    "style_preset", "A style preset cannot be combined with style reference images."
                )
            )
        if st not in (None, StyleType.AUTO, StyleType.GENERAL):
            out.append(
                Problem(
                    "style_preset",
                    f"A style preset needs style type AUTO or GENERAL, not {st.value}.",
                )
            )
    if r.style_references and st not in (None, StyleType.AUTO, StyleType.GENERAL):
        out.append(
            Problem(
                "style_references",
                f"Style reference images need style type AUTO or GENERAL, not {st.value}.",
            )
        )
    if len(r.character_references) > 1:
        out.append(
            Problem("character_references", "Only one character reference image can be used.")
        )
    if r.character_references:
        if r.rendering_speed is RenderingSpeed.FLASH:
            out.append(
                Problem(
                    "character_references",
                    "A character reference does not work at FLASH speed; choose TURBO or slower.",
                )
            )
        if st not in (None, StyleType.AUTO, StyleType.REALISTIC, StyleType.FICTION):
            out.append(
                Problem(
                    "character_references",
                    f"A character reference needs style type AUTO, REALISTIC or FICTION, not {st.value}.",
                )
            )
    refs = r.style_references + r.character_references + r.references
    for ref in refs:
        if ref.format not in UPLOAD_FORMATS:
            out.append(
                Problem("style_references", f"“{ref.name}” is not a JPEG, PNG or WebP image.")
            )
    total = sum(len(ref.data) for ref in refs)
    if total > UPLOAD_LIMIT:
        out.append(
            Problem(
                "style_references",
                f"The reference images add up to {total / 1e6:.1f} MB; the limit is 10 MB in total.",
            )
        )
    if r.color_palette is not None:
        out.extend(_palette_problems(r.color_palette))
    if r.seed is not None and not 0 <= r.seed <= MAX_SEED:
        out.append(Problem("seed", f"The seed must be between 0 and {MAX_SEED}."))
    if not 1 <= r.num_images <= MAX_IMAGES:
        out.append(Problem("num_images", "The number of images must be between 1 and 8."))
    if r.feather < 0 or r.feather > 256:
        out.append(Problem("feather", "The edge feather must be between 0 and 256 pixels."))
    return out


@dataclass(frozen=True)
class Capabilities:
    """What a provider accepts; the GUI shows only these controls.

    Attributes:
        speeds: rendering speeds it takes.
        style_types: style types it takes (empty = no ``style_type`` field).
        max_images: most variants per request (1 = one image per request or task: the
            provider makes N requests with seeds s, s+1, …).
        max_style_references: most style references it takes (None = no own limit).
        style_type_required_with_character: a character reference needs an explicit style type.
        prompt_required: the prompt may not be empty.
        needs_key: an API key is required.
        uploads: it sends the photo over the network (so upload encoding applies).
        answer_sizes: the ``(width, height)`` sizes its model answers with (Ideogram snaps
            its output to a fixed set near 1 MP, shared/docs/providers.md). A region larger
            than the one nearest its aspect ratio is sent at exactly that size: the model
            needs no further resampling and nothing it could use is lost. Empty: no limit
            (the offline engine works at the photo's own resolution).
        max_inflight_images: images it lets an account have in flight at once (Ideogram: 10
            per organisation by default, shared/docs/providers.md); ``None``: no such limit.
        rendering_speed: it has a ``rendering_speed`` field (Ideogram 4.x has ``quality``
            instead: only the default speed passes, any other is refused by name).
        quality: it takes ``quality``.
        max_references: most ``reference_images`` it takes with a mask (0 = none; Ideogram
            4.5: 4, one slot taken by the mask, so 3).
        max_region_pixels: it edits a region of up to this many pixels at its own pixels
            (Ideogram 4.5 Precise Edit: 4,194,304): the region is sent at scale 1 when it
            fits, else scaled down to fit; ``answer_sizes`` then does not apply. None: the
            model works near 1 MP (``answer_sizes``).
        upload_limit: bytes a file it takes may have (10 MB for 3.0 and its resellers; 25 MB
            for Precise Edit, the safe reading of its page).
        mask_needs_keep: the mask sent must keep some pixels (Precise Edit: "it must contain
            both colours").
        Other flags: whether the field of that name is accepted.
    """

    speeds: frozenset[RenderingSpeed]
    style_types: frozenset[StyleType] = frozenset()
    max_images: int = MAX_IMAGES
    magic_prompt: bool = False
    style_preset: bool = False
    style_codes: bool = False
    style_references: bool = False
    character_reference: bool = False
    color_palette: bool = False
    negative_prompt: bool = False
    seed: bool = True
    prompt_required: bool = True
    needs_key: bool = True
    uploads: bool = True
    max_style_references: int | None = None
    style_type_required_with_character: bool = False
    answer_sizes: tuple[tuple[int, int], ...] = IDEOGRAM_ANSWER_SIZES
    max_inflight_images: int | None = 10
    rendering_speed: bool = True
    quality: bool = False
    max_references: int = 0
    max_region_pixels: int | None = None
    upload_limit: int = UPLOAD_LIMIT
    mask_needs_keep: bool = False

    def problems(self, r: EditRequest, provider: str) -> list[Problem]:
        """One :class:`Problem` per field ``r`` sets that this provider cannot take."""
        out: list[Problem] = []

        def refuse(field_: str, what: str) -> None:
            out.append(Problem(field_, f"{provider} does not support {what}."))

        if not self.rendering_speed:
            if r.rendering_speed is not RenderingSpeed.DEFAULT:
                out.append(
                    Problem(
                        "rendering_speed",
                        f"{provider} has no rendering speed; choose a quality "
                        "(very_low, low, medium or high) instead.",
                    )
                )
        elif r.rendering_speed not in self.speeds:
            allowed = ", ".join(s.value for s in RenderingSpeed if s in self.speeds)
            out.append(
                Problem(
                    "rendering_speed",
                    f"{provider} does not offer {r.rendering_speed.value} speed; choose {allowed}.",
                )
            )
        if r.style_type is not None and r.style_type not in self.style_types:
            refuse("style_type", f"style type {r.style_type.value}")
        if (
            r.character_references
            and self.character_reference
            and self.style_type_required_with_character
            and r.style_type is None
        ):
            out.append(
                Problem(
                    "style_type",
                    f"{provider} needs a style type when a character reference is given.",
                )
            )
        if (
            self.max_style_references is not None
            and len(r.style_references) > self.max_style_references
        ):
            out.append(
                Problem(
                    "style_references",
                    f"{provider} takes at most {self.max_style_references} style reference images.",
                )
            )
        if self.max_references and len(r.references) > self.max_references:
            out.append(
                Problem(
                    "references",
                    f"{provider} takes at most {self.max_references} reference images with a "
                    "mask (the mask takes one of its 4 slots).",
                )
            )
        if self.mask_needs_keep and r.mask.shape == r.photo.rgb.shape[:2] and r.mask.all():
            out.append(
                Problem(
                    "mask",
                    f"{provider} needs part of the photo left unmasked: the mask covers all of "
                    "it. Leave some of the photo unpainted.",
                )
            )
        if r.num_images > self.max_images and self.max_images > 1:
            out.append(
                Problem(
                    "num_images", f"{provider} makes at most {self.max_images} images per request."
                )
            )
        return out
