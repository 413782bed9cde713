"""Reading a ``.inpaint`` project (or a recovery folder) as hostile input: the manifest through
its schema, every member's size from its header before anything is decoded, every job's
mask against its own recorded size; the whole file or a sentence (:func:`read_project`,
:func:`inspect_project` for ``project info``)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import ImageLoadError
from ..pipeline.composite import Layer
from ..pixels.imaging import (
    MAX_PIXELS,
    ReferenceImage,
    check_regular,
    header_size,
    load_image,
    load_mask,
)
from ..pixels.maskedit import sync_alpha
from .project import (
    FORMAT,
    KNOWN_KEYS,
    MAX_LAYER_PIXELS,
    JobRecord,
    ProjectError,
    ProjectState,
    VariantRecord,
)


class _Source:
    """A project zip or a recovery folder, read member by member within the limits of
    :mod:`inpaint_studio.core.formats.manifest`."""

    def __init__(self, path: Path) -> None:
        from .manifest import check_zip_entries

        self.path = path
        self.label = f"“{path.name}”"
        self.zip: zipfile.ZipFile | None = None
        if path.is_dir():
            return
        try:
            check_regular(path, self.label)  # a FIFO or a device would block the read forever
        except ImageLoadError as exc:
            raise ProjectError(str(exc)) from None
        try:
            self.zip = zipfile.ZipFile(path)
        except FileNotFoundError:
            raise ProjectError(f"{self.label} does not exist.") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            raise ProjectError(
                f"{self.label} is damaged or truncated and cannot be opened; nothing was changed."
            ) from None
        try:
            check_zip_entries(self.zip.infolist())
        except ValueError as exc:
            raise ProjectError(f"{self.label} was refused: {exc}; nothing was changed.") from None

    def read(self, name: str, limit: int | None = None) -> bytes:
        from .manifest import MAX_MEMBER_BYTES, _member

        limit = limit or MAX_MEMBER_BYTES
        try:
            _member(name)
            if self.zip is not None:
                if self.zip.getinfo(name).file_size > limit:
                    raise ValueError
                with self.zip.open(name) as f:
                    data = f.read(limit + 1)
            else:
                with open(self.path / name, "rb") as f:
                    data = f.read(limit + 1)
            if len(data) > limit:
                raise ValueError
            return data
        except (
            KeyError,
            OSError,
            zipfile.BadZipFile,
            EOFError,
            ValueError,
            zlib_error(),
            NotImplementedError,
            RuntimeError,
        ):
            raise ProjectError(
                f"{self.label} is damaged: “{name[:80]}” is missing, too large or unreadable; "
                "nothing was changed."
            ) from None


def zlib_error():
    import zlib

    return zlib.error


def _dims(data: bytes) -> tuple[int, int]:
    """An image's size from its header, before anything is decoded."""
    with Image.open(io.BytesIO(data)) as img:
        return img.size


def _manifest(src: _Source):
    from .manifest import MAX_MANIFEST_BYTES, parse

    raw = src.read("manifest.json", MAX_MANIFEST_BYTES)
    try:
        head = json.loads(raw)
    except (ValueError, RecursionError):
        raise ProjectError(f"{src.label} is not an Inpaint Studio project or is damaged.") from None
    if (
        not isinstance(head, dict)
        or not isinstance(head.get("format"), int)
        or isinstance(head.get("format"), bool)
    ):
        raise ProjectError(f"{src.label} is not an Inpaint Studio project or is damaged.")
    if head["format"] > FORMAT:
        raise ProjectError(
            f"{src.label} was saved by a newer Inpaint Studio (project format {head['format']}); update the program to open it."
        )
    try:
        return parse(raw), head
    except ValueError as exc:
        raise ProjectError(f"{src.label} is damaged: {exc}; nothing was changed.") from None


def _check_images(src: _Source, m, size: tuple[int, int], keep: bool = True) -> dict[str, bytes]:
    """Read every member the manifest names and check each image's pixel size from its header
    (masks the photo's size, patches their box's, layers inside the photo); returns them."""
    w, h = size
    data: dict[str, bytes] = {}

    pixels: dict[str, int] = {}  # each checked image's pixel count, from its header

    def get(
        name: str,
        expect: tuple[int, int] | None = None,
        inside: tuple[int, int] | None = None,
        most_pixels: int | None = None,
    ) -> bytes:
        b = src.read(name)
        if keep:
            data[name] = b
        if expect is None and inside is None and most_pixels is None:
            return b
        try:
            dw, dh = _dims(b)
        except (OSError, ValueError, Image.DecompressionBombError):
            raise ProjectError(
                f"{src.label} is damaged: “{name}” is not an image; nothing was changed."
            ) from None
        if expect is not None and (dw, dh) != expect:
            raise ProjectError(
                f"{src.label} is damaged: “{name}” is {dw}×{dh} pixels, not {expect[0]}×{expect[1]}; "
                "nothing was changed."
            )
        if inside is not None and (inside[0] + dw > w or inside[1] + dh > h):
            raise ProjectError(
                f"{src.label} is damaged: “{name}” reaches outside the photo; nothing was changed."
            )
        if most_pixels is not None and dw * dh > most_pixels:
            raise ProjectError(
                f"{src.label} was refused: “{name}” is {dw}×{dh} pixels; nothing was changed."
            )
        pixels[name] = dw * dh
        return b

    get(m.mask, expect=size)
    if m.mask_strength:
        get(m.mask_strength, expect=size)
    for a in m.accepted:
        x0, y0, x1, y1 = a.box
        if x1 > w or y1 > h:
            raise ProjectError(
                f"{src.label} is damaged: an accepted edit lies outside the photo; nothing was changed."
            )
        get(a.file, expect=(x1 - x0, y1 - y0))
    for j in m.jobs:
        if j.mask:  # at the canvas size of the job's time (files before sizes were kept: any size)
            get(
                j.mask, expect=tuple(j.size) if j.size is not None else None, most_pixels=MAX_PIXELS
            )
        for r in j.references:
            if len(get(r.file)) > 10_000_000:
                raise ProjectError(
                    f"{src.label} is damaged: the reference “{r.file}” is over 10 MB; nothing was changed."
                )
    for r in m.references:
        if len(get(r.file)) > 10_000_000:
            raise ProjectError(
                f"{src.label} is damaged: the reference “{r.file}” is over 10 MB; nothing was changed."
            )
    seen: set[str] = set()
    layer_pixels = 0
    for v in m.variants:
        if v.layer and v.layer.file not in seen:  # a member shared by many variants is read once
            seen.add(v.layer.file)
            get(v.layer.file, inside=(v.layer.x0, v.layer.y0))
            layer_pixels += pixels[v.layer.file]
            if layer_pixels > MAX_LAYER_PIXELS:
                raise ProjectError(
                    f"{src.label} was refused: its layers hold more than "
                    f"{MAX_LAYER_PIXELS // 1_000_000} MP; nothing was changed."
                )
        if v.raw and v.raw not in seen:
            seen.add(v.raw)
            get(v.raw)
    return data


def inspect_project(path: str | Path) -> dict:
    """Validate a project without decoding its pixels or writing anything; a summary.

    Returns ``{"format", "photo": {"name", "width", "height"}, "layers", "jobs", "accepted",
    "bytes"}``. Memory stays bounded by :data:`~inpaint_studio.core.formats.manifest.MAX_TOTAL_BYTES`.

    Raises:
        ProjectError: one sentence naming the file and what is wrong.
    """
    path = Path(path)
    src = _Source(path)
    m, _ = _manifest(src)
    original = src.read(m.photo.file)
    try:
        size = header_size(original)  # upright, as the editor shows it (EXIF orientation 5–8 swap)
    except ImageLoadError:
        raise ProjectError(
            f"{src.label} is damaged: its photo is not an image; nothing was changed."
        ) from None
    if size[0] * size[1] > MAX_PIXELS:
        raise ProjectError(
            f"{src.label} was refused: its photo is {size[0]}×{size[1]} pixels; nothing was changed."
        )
    del original
    _check_images(src, m, size, keep=False)  # one member in memory at a time
    return {
        "format": m.format,
        "photo": {"name": m.photo.name, "width": size[0], "height": size[1]},
        "layers": len(m.variants),
        "jobs": len(m.jobs),
        "accepted": len(m.accepted),
        "bytes": path.stat().st_size
        if path.is_file()
        else sum(p.stat().st_size for p in path.rglob("*") if p.is_file()),
    }


def read_project(path: str | Path) -> ProjectState:
    """Read a ``.inpaint`` file or a recovery folder completely (pixel work: run in a thread).

    The manifest is validated against :mod:`~inpaint_studio.core.formats.manifest` and every image's
    pixel size checked from its header before it is decoded. All or nothing.

    Raises:
        ProjectError: damaged, truncated, hostile, not a project, or saved by a newer version.
    """
    src = _Source(Path(path))
    m, head = _manifest(src)
    name = Path(m.photo.name.replace("\\", "/")).name[:200] or "photo"
    try:
        original = src.read(m.photo.file)
        photo = load_image(original, name=name)
        size = photo.size
        files = _check_images(src, m, size)
        mask = load_mask(files[m.mask], size)
        mask_alpha = None
        if m.mask_strength:
            mask_alpha = np.array(Image.open(io.BytesIO(files[m.mask_strength])).convert("L"))
            sync_alpha(
                mask_alpha, mask, (0, 0, size[0], size[1])
            )  # > 0 exactly where the mask is set
        accepted = []
        for a in m.accepted:
            x0, y0, x1, y1 = a.box
            patch = np.asarray(Image.open(io.BytesIO(files[a.file])).convert("RGB"))
            accepted.append(((x0, y0, x1, y1), patch))
        jobs: list[JobRecord] = []
        for j in m.jobs:
            fields = j.model_dump(
                include=set(JobRecord.__dataclass_fields__)
                - {"mask", "style_references", "character_references", "offset"}
            )
            rec = JobRecord(**fields)
            rec.region = list(j.region) if j.region else None
            if j.mask:
                job_size = tuple(j.size) if j.size is not None else _dims(files[j.mask])
                rec.mask = load_mask(files[j.mask], job_size)
            rec.offset = (
                tuple(j.offset)
                if j.offset is not None
                else (
                    (0, 0)
                    if rec.mask is None or (rec.mask.shape[1], rec.mask.shape[0]) == size
                    else None
                )
            )
            for r in j.references:
                ref = ReferenceImage(Path(r.name).name[:200], files[r.file], r.format)
                (
                    rec.character_references if r.kind == "character" else rec.style_references
                ).append(ref)
            jobs.append(rec)
        references: dict[str, list[ReferenceImage]] = {}
        for r in m.references:
            field_name = "character_references" if r.kind == "character" else "style_references"
            references.setdefault(field_name, []).append(
                ReferenceImage(Path(r.name).name[:200], files[r.file], r.format)
            )
        variants: list[VariantRecord] = []
        decoded: dict[
            tuple[str, int, int], Layer
        ] = {}  # a member shared by many variants is decoded once
        for v in m.variants:
            vrec = VariantRecord(
                **v.model_dump(include=set(VariantRecord.__dataclass_fields__) - {"layer", "raw"})
            )
            if v.layer:
                key = (v.layer.file, v.layer.x0, v.layer.y0)
                if key not in decoded:
                    rgba = np.array(Image.open(io.BytesIO(files[v.layer.file])).convert("RGBA"))
                    decoded[key] = Layer.from_rgba(v.layer.x0, v.layer.y0, rgba)
                vrec.layer = decoded[key]
            if v.raw:
                vrec.raw = files[v.raw]
            variants.append(vrec)
    except ProjectError:
        raise
    except (
        KeyError,
        TypeError,
        ValueError,
        ImageLoadError,
        OSError,
        Image.DecompressionBombError,
        MemoryError,
    ) as exc:
        reason = (
            str(exc) if isinstance(exc, ImageLoadError) else "an image inside it cannot be read"
        )
        raise ProjectError(
            f"{src.label} is damaged and cannot be opened ({reason}); nothing was changed."
        ) from None
    extra = {k: v for k, v in head.items() if k not in KNOWN_KEYS}
    panel = m.panel if isinstance(m.panel, dict) else {}
    return ProjectState(
        original,
        name,
        mask,
        accepted,
        jobs,
        variants,
        panel,
        extra,
        mask_alpha,
        selected=m.selected,
        latest=list(m.latest),
        references=references,
    )
