"""The one schema of a project's ``manifest.json``, and the limits a project file must keep.

A project (``.inpaint``) or recovery folder is untrusted input: every field is checked for
type and range here (pydantic v2, strict JSON mode) before anything is used, ids and file
names are restricted to a small safe alphabet (so nothing read can name a path the program
writes), and the zip's member count, sizes and compression ratios are bounded before any
member is read. Keys this version does not know are kept (``extra="allow"``).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

#: Most members a project zip may have.
MAX_MEMBERS = 20_000
#: Most bytes one member may unpack to (the photo, a layer, a raw result).
MAX_MEMBER_BYTES = 300_000_000
#: Most bytes all members together may unpack to.
MAX_TOTAL_BYTES = 1_000_000_000
#: Most bytes of ``manifest.json``.
MAX_MANIFEST_BYTES = 32_000_000
#: Largest compression ratio of a member over 1 MB (stored PNGs and JPEGs are near 1).
MAX_RATIO = 50

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MEMBER = re.compile(
    r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}(/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}){0,3}$"
)


def _safe_id(value: str) -> str:
    if not _SAFE_ID.match(value):
        raise ValueError("must be 1–64 letters, digits, '-' or '_'")
    return value


def _member(value: str) -> str:
    if not _MEMBER.match(value) or ".." in value:
        raise ValueError("is not a file name inside the project")
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


SafeId = Annotated[str, AfterValidator(_safe_id)]
Member = Annotated[str, AfterValidator(_member)]
Finite = Annotated[float, AfterValidator(_finite)]
Text = Annotated[str, Field(max_length=20_000)]
Short = Annotated[str, Field(max_length=300)]
Coord = Annotated[int, Field(ge=0, le=1_000_000)]


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class PhotoEntry(_Model):
    name: Short
    file: Member


class AcceptedEntry(_Model):
    box: tuple[Coord, Coord, Coord, Coord]
    file: Member

    @model_validator(mode="after")
    def _box(self):
        x0, y0, x1, y1 = self.box
        if not (x0 < x1 and y0 < y1):
            raise ValueError("box must have x0 < x1 and y0 < y1")
        return self


class ReferenceEntry(_Model):
    kind: Literal["style", "character"]
    name: Short
    file: Member
    format: Literal["PNG", "JPEG", "WEBP"]


class JobEntry(_Model):
    id: Annotated[int, Field(ge=0, le=1_000_000_000)]
    provider: Annotated[str, Field(max_length=40)]
    label: Short = ""
    parameters: dict[str, Any] = {}
    stage: Annotated[str, Field(max_length=40)]
    created: Finite
    finished: Finite | None = None
    error: Text | None = None
    details: Annotated[str, Field(max_length=200_000)] = ""
    sent: dict[str, Any] = {}
    region: (
        tuple[
            Coord,
            Coord,
            Coord,
            Coord,
            Annotated[int, Field(ge=1, le=100_000)],
            Annotated[int, Field(ge=1, le=100_000)],
            Literal["auto", "full", "crop"],
        ]
        | None
    ) = None
    remote_tasks: Annotated[list[dict[str, Any]], Field(max_length=64)] = []
    draft_of: Short | None = None
    notes: Annotated[list[Text], Field(max_length=64)] = []
    model: Short | None = None
    options: dict[str, Any] = {}
    results_saved: bool = False
    mask: Member | None = None
    #: the canvas ``[width, height]`` the job was made on (its mask's size); absent in files
    #: written before Expand recorded it
    size: (
        tuple[Annotated[int, Field(ge=1, le=1_000_000)], Annotated[int, Field(ge=1, le=1_000_000)]]
        | None
    ) = None
    #: where that canvas's top-left corner lies on the document's canvas now (Expand moves it)
    offset: (
        tuple[
            Annotated[int, Field(ge=-1_000_000, le=1_000_000)],
            Annotated[int, Field(ge=-1_000_000, le=1_000_000)],
        ]
        | None
    ) = None
    references: Annotated[list[ReferenceEntry], Field(max_length=16)] = []

    @model_validator(mode="after")
    def _region(self):
        if self.region is not None and not (
            self.region[0] < self.region[2] and self.region[1] < self.region[3]
        ):
            raise ValueError("region must have x0 < x1 and y0 < y1")
        return self


class LayerEntry(_Model):
    file: Member
    x0: Coord
    y0: Coord


class VariantEntry(_Model):
    id: SafeId
    job: Annotated[int, Field(ge=0, le=1_000_000_000)]
    index: Annotated[int, Field(ge=0, le=63)]
    safe: bool
    name: Short = ""
    seed: Annotated[int, Field(ge=0, le=2_147_483_647)] | None = None
    prompt: Text | None = None
    resolution: Short | None = None
    style_type: Short | None = None
    visible: bool = True
    opacity: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    feather: Annotated[int, Field(ge=0, le=256)] = 4
    colour_match: bool = True
    final_of: SafeId | None = None
    layer: LayerEntry | None = None
    raw: Member | None = None


class Manifest(_Model):
    format: Annotated[int, Field(ge=1)]
    photo: PhotoEntry
    mask: Member = "mask.png"
    mask_strength: Member | None = None
    accepted: Annotated[list[AcceptedEntry], Field(max_length=2_000)] = []
    panel: dict[str, Any] = {}
    jobs: Annotated[list[JobEntry], Field(max_length=10_000)] = []
    variants: Annotated[list[VariantEntry], Field(max_length=10_000)] = []
    #: the selected layer and the layers keys 1–8 flip through (view state a reopen keeps)
    references: Annotated[list[ReferenceEntry], Field(max_length=16)] = []
    selected: SafeId | None = None
    latest: Annotated[list[SafeId], Field(max_length=64)] = []

    @model_validator(mode="after")
    def _unique(self):
        for what, ids in (
            ("job", [j.id for j in self.jobs]),
            ("variant", [v.id for v in self.variants]),
        ):
            if len(ids) != len(set(ids)):
                raise ValueError(f"two {what}s share an id")
        return self

    def members(self) -> list[str]:
        """Every member the manifest refers to."""
        out = [self.photo.file, self.mask] + ([self.mask_strength] if self.mask_strength else [])
        out += [a.file for a in self.accepted]
        for j in self.jobs:
            out += ([j.mask] if j.mask else []) + [r.file for r in j.references]
        for v in self.variants:
            out += ([v.layer.file] if v.layer else []) + ([v.raw] if v.raw else [])
        return out + [r.file for r in self.references]


def parse(raw: bytes) -> Manifest:
    """Validate ``manifest.json``'s bytes.

    Raises:
        ValueError: one sentence naming the first field that is wrong.
    """
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ValueError(f"its manifest is {len(raw) / 1e6:.0f} MB, more than a project ever needs")
    try:
        return Manifest.model_validate_json(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())) or "the manifest"
        msg = err.get("msg", "is invalid")
        if err.get("type") in ("json_invalid", "model_type") and not err.get("loc"):
            raise ValueError("its manifest is not valid JSON") from None
        raise ValueError(f"“{where}” in its manifest is wrong ({msg})") from None


def check_zip_entries(infos) -> None:
    """Bound a zip before any member is read: count, sizes, total and compression ratio.

    Raises:
        ValueError: one sentence saying which limit was passed.
    """
    if len(infos) > MAX_MEMBERS:
        raise ValueError(f"it has {len(infos)} files inside, more than {MAX_MEMBERS}")
    total = 0
    for info in infos:
        size = info.file_size
        if size > MAX_MEMBER_BYTES:
            raise ValueError(
                f"“{info.filename[:80]}” inside it would unpack to {size / 1e6:.0f} MB"
            )
        if size > 1_000_000 and size > MAX_RATIO * max(1, info.compress_size):
            raise ValueError(
                f"“{info.filename[:80]}” inside it is compressed {size // max(1, info.compress_size)}:1, "
                "like a zip bomb"
            )
        total += size
    if total > MAX_TOTAL_BYTES:
        raise ValueError(
            f"it would unpack to {total / 1e9:.1f} GB, more than the {MAX_TOTAL_BYTES // 10**9} GB allowed"
        )
