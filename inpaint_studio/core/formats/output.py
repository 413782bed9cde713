"""Writing results: full-resolution composites with their parameters embedded.

Each variant is written as a PNG at the original's resolution with an ``iTXt`` chunk
``inpaint-studio`` holding the parameters, provider, seed and returned prompt as JSON, plus
a JSON sidecar of the same content. Files are written atomically (temporary file, flush,
rename) and never overwrite an earlier result: numbering continues after the highest one.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin, TiffTags

from ..atomic import FILE_MODE, finished_temp
from ..pipeline.composite import apply_layer
from ..pipeline.params import to_json
from ..pixels.imaging import Photo
from ..pixels.metadata import (
    SourceMetadata,
    png_chunks,
    updated_xmp,
    with_app13,
    without_location,
)

PNG_TEXT_KEY = "inpaint-studio"

# Pillow writes an Exif UserComment as BYTE; the standard's type is UNDEFINED (exiv2 and
# exiftool read the BYTE form as raw numbers). Its tag table is where Pillow takes the type.
TiffTags.TAGS_V2_GROUPS[0x8769][0x9286] = TiffTags.TagInfo(
    0x9286, "UserComment", TiffTags.UNDEFINED, 0
)


def encode_png(
    rgb: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    icc: bytes | None = None,
    text: dict | None = None,
    compress_level: int = 1,
    exif: bytes | None = None,
    dpi: tuple[float, float] | None = None,
    keep: SourceMetadata | None = None,
) -> bytes:
    """Encode ``(H, W, 3) uint8`` (plus optional ``(H, W) uint8`` alpha) as PNG bytes, with
    the colour profile, EXIF block (``eXIf``), pixels per inch (``pHYs``) and parameters
    (``iTXt`` ``inpaint-studio``) given, and the source's own metadata ``keep`` (its
    ``gAMA``/``cHRM``/``sRGB``, text chunks and XMP, updated: :mod:`..pixels.metadata`).

    ``compress_level`` 1 keeps an 18 MP photo around a second to write (level 6: ~4×).
    """
    import io

    if alpha is not None:
        img = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    else:
        img = Image.fromarray(rgb, "RGB")
    info = PngImagePlugin.PngInfo()
    if keep is not None:
        png_chunks(keep, info)
    if text is not None:
        info.add_itxt(PNG_TEXT_KEY, json.dumps(text, ensure_ascii=False))
    buf = io.BytesIO()
    kwargs: dict = {"pnginfo": info, "compress_level": compress_level}
    if icc:
        kwargs["icc_profile"] = icc
    if exif:
        kwargs["exif"] = exif
    if dpi:
        kwargs["dpi"] = dpi
    img.save(buf, "PNG", **kwargs)
    return buf.getvalue()


#: Export formats by file suffix: Pillow's format name.
EXPORT_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
#: The file suffix an export defaults to for a source format (PNG for anything else).
SOURCE_SUFFIX = {"JPEG": ".jpg", "MPO": ".jpg", "WEBP": ".webp"}


def export_suffix(photo: Photo) -> str:
    """The suffix an export of ``photo`` defaults to: the source's own format (a JPEG stays
    a JPEG), PNG for formats we do not write or for photos with transparency."""
    if photo.alpha is not None and photo.source_format not in ("PNG", "WEBP"):
        return ".png"
    return SOURCE_SUFFIX.get(photo.source_format, ".png")


def encode_export(
    rgb: np.ndarray,
    photo: Photo,
    suffix: str,
    text: dict | None = None,
    *,
    remove_location: bool = False,
) -> bytes:
    """Encode a full-resolution ``(H, W, 3) uint8`` result of ``photo`` for export.

    Keeps the source's EXIF (orientation normalised: the pixels are upright), ICC profile,
    pixels per inch and, where the format has it, transparency. ``text`` (the edit's
    parameters) is embedded as PNG ``iTXt`` ``inpaint-studio``, or as the JPEG comment /
    the EXIF ``UserComment`` for JPEG and WebP. JPEG is written at quality 95 with no
    chroma subsampling; WebP at quality 95, or lossless when the photo was a lossless WebP.
    WebP has no DPI field of its own: the EXIF
    resolution tags carry it (as they do in every format).

    ``remove_location`` drops the EXIF GPS block (kept by default: the photographer's own
    metadata).

    Raises:
        ValueError: ``suffix`` is not one of :data:`EXPORT_FORMATS`.
    """
    import io

    fmt = EXPORT_FORMATS.get(suffix.lower())
    if fmt is None:
        raise ValueError(f"Inpaint Studio exports PNG, JPEG or WebP, not “{suffix}”.")
    exif = Image.Exif()
    if photo.exif:
        try:
            exif.load(photo.exif)
        except Exception:  # validated on load; stay safe if it still does not parse
            exif = Image.Exif()
    if remove_location and 0x8825 in exif:
        del exif[0x8825]  # the GPS IFD
    if photo.dpi:
        exif[0x011A], exif[0x011B], exif[0x0128] = (
            photo.dpi[0],
            photo.dpi[1],
            2,
        )  # X/YResolution, inches
    if fmt != "JPEG":  # with its transparency: the file's own colour outside the edits
        rgb = photo.export_rgb(rgb)
    if fmt == "PNG":
        return encode_png(
            rgb,
            alpha=photo.alpha,
            icc=photo.icc_profile,
            text=text,
            exif=exif.tobytes() if len(exif) else None,
            dpi=photo.dpi,
            keep=replace(photo.metadata, xmp=without_location(photo.metadata.xmp))
            if remove_location and photo.metadata.xmp
            else photo.metadata,
        )
    alpha = photo.alpha if fmt != "JPEG" else None
    img = Image.fromarray(
        np.dstack([rgb, alpha]) if alpha is not None else rgb,
        "RGBA" if alpha is not None else "RGB",
    )
    note = json.dumps(text, ensure_ascii=False) if text is not None else None
    ascii_note = json.dumps(text) if text is not None else None  # \u escapes: no byte order
    if ascii_note is not None and len(ascii_note) < 60_000 - len(photo.exif or b""):
        # Exif UserComment: UNDEFINED with the ASCII character code (Exif 2.32 §4.6.5)
        exif.get_ifd(0x8769)[0x9286] = b"ASCII\0\0\0" + ascii_note.encode("ascii")
    kwargs: dict = {"exif": exif.tobytes()}
    if photo.icc_profile:
        kwargs["icc_profile"] = photo.icc_profile
    if photo.dpi:
        kwargs["dpi"] = photo.dpi
    if photo.metadata.xmp is not None:
        xmp = updated_xmp(photo.metadata.xmp)
        kwargs["xmp"] = without_location(xmp) if remove_location else xmp
    if fmt == "JPEG":
        kwargs.update(quality=95, subsampling=0, optimize=True)
        if note is not None and len(note.encode()) < 65_000:
            kwargs["comment"] = note.encode()
    elif webp_is_lossless(photo.source):  # a lossless source stays lossless
        kwargs.update(lossless=True, quality=100, method=4, exact=True)
    else:
        kwargs.update(quality=95, method=4)
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    if fmt == "JPEG":  # IPTC (creator, copyright, caption) as the source had it
        return with_app13(buf.getvalue(), photo.metadata.iptc)
    return buf.getvalue()


def webp_is_lossless(data: bytes | None) -> bool:
    """Whether ``data`` is a WebP file whose image is lossless (a ``VP8L`` chunk, not
    ``VP8``), read from its RIFF chunk headers (first 64 kB at most)."""
    if not data or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return False
    pos, end = 12, min(len(data), 65_536)
    while pos + 8 <= end:
        fourcc = data[pos : pos + 4]
        if fourcc in (b"VP8L", b"VP8 "):
            return fourcc == b"VP8L"
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        pos += 8 + size + (size & 1)
    return False


def file_extension(data: bytes) -> str:
    """``jpg``, ``webp`` or ``png`` from a file's first bytes."""
    return "jpg" if data[:2] == b"\xff\xd8" else "webp" if data[8:12] == b"WEBP" else "png"


def next_index(out_dir: Path, stem: str) -> int:
    """The first free number ``n`` for ``<stem>-edit-<n>.png`` in ``out_dir`` (after the
    highest result or sidecar already there)."""
    pattern = re.compile(rf"^{re.escape(stem)}-edit-(\d+)(?:\.png|\.json|-raw\.[a-z]+)$")
    used = [int(m.group(1)) for p in out_dir.glob(f"{stem}-edit-*") if (m := pattern.match(p.name))]
    return max(used, default=0) + 1


def _write_new(target: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Write ``data`` to ``target``, which must not exist, so that no other writer and no
    crash leaves an empty or partial file under that name: the finished temporary file gets
    the name by a hard link, made atomically or not at all.

    Raises:
        FileExistsError: ``target`` exists (nothing was changed).
        OSError: it could not be written (nothing is left behind).
    """
    tmp = finished_temp(target, data, mode)
    try:
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise
        except OSError:  # no hard links here (some network and FAT file systems): exclusive create
            fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
            except BaseException:
                target.unlink(missing_ok=True)
                raise
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_set(out_dir: Path, stem: str, index: int, files) -> tuple[int, dict[str, Path]]:
    """Claim ``<stem>-edit-<n>`` for the first ``n >= index`` whose every file is free and
    write them: ``files(n)`` gives ``{suffix: bytes}`` (``".png"``, ``".json"``, ``"-raw.jpg"``).
    A result and its sidecars are claimed together, so runs writing into one folder at once
    never share a number, a file of the user's is never overwritten, and a failure or a kill
    leaves no empty file behind.

    Returns:
        ``(n, {suffix: path})``.

    Raises:
        OSError: a file could not be written (the ones of this set already written are removed).
    """
    while True:
        content = files(index)
        paths = {suffix: out_dir / f"{stem}-edit-{index}{suffix}" for suffix in content}
        if any(p.exists() or p.is_symlink() for p in paths.values()):
            index += 1
            continue
        written: list[Path] = []
        try:
            for suffix, data in content.items():
                _write_new(paths[suffix], data)
                written.append(paths[suffix])
        except FileExistsError:  # another run took this number meanwhile
            for p in written:
                p.unlink(missing_ok=True)
            index += 1
            continue
        except BaseException:
            for p in written:
                p.unlink(missing_ok=True)
            raise
        return index, paths


def variant_metadata(job, variant) -> dict:
    """Everything known about one variant, JSON-able (no pixels, no keys)."""
    return {
        "app": "Inpaint Studio",
        "provider": job.provider.name,
        "provider_label": job.provider.label,
        "parameters": to_json(job.request),
        "variant": variant.index,
        "seed": variant.seed,
        "returned_prompt": variant.prompt,
        "resolution": variant.resolution,
        "style_type": variant.style_type,
        "safe": variant.safe,
        "sent": job.sent,
        "notes": job.notes,
        "extra": variant.extra,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(job.finished or time.time())),
        "source": str(job.request.photo.path) if job.request.photo.path else None,
    }


#: an absolute path in text: POSIX (/…, ~/…) or Windows (C:\…, C:/…, \\server\…)
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])(?:~|[A-Za-z]:)?(?:[/\\][^\s/\\;,'\"]+)+[/\\]?")
#: keys whose text is the user's or the provider's words (prompts, layer names), never scrubbed
USER_TEXT_KEYS = frozenset({"parameters", "prompt", "returned_prompt", "name"})
#: keys of a record that name local files or folders only this computer knows
PRIVATE_KEYS = frozenset({"journal", "journal_path", "raw_path_abs"})


def shareable(meta: dict | None, *, details: bool = True) -> dict | None:
    """What a file meant to be shared embeds of ``meta`` (a record of
    :func:`variant_metadata` or an editor's export record): never an absolute path (a file
    is named by its name alone: no login name, no folder layout), never the result
    journal's path; with ``details`` False (``--no-embed``, Preferences ▸ "Embed edit
    details" off) only the program's name — no prompt, no parameters. None stays None."""
    if meta is None:
        return None
    if not details:
        return {"app": meta.get("app", "Inpaint Studio")}

    def scrub(value, key: str = ""):
        if key in USER_TEXT_KEYS:
            return value  # the user's own words are embedded as they were written
        if isinstance(value, dict):
            return {k: scrub(v, k) for k, v in value.items() if k not in PRIVATE_KEYS}
        if isinstance(value, list):
            return [scrub(v, key) for v in value]
        if isinstance(value, str) and ("/" in value or "\\" in value):
            # every absolute path in the text (a sentence may name a kept file) → its name
            return _ABSOLUTE_PATH.sub(lambda m: re.split(r"[/\\]", m.group(0))[-1], value)
        return value

    return scrub(meta)


def write_variant(
    job,
    variant,
    out_dir: Path,
    stem: str,
    index: int,
    *,
    raw: bool = False,
    details: bool = True,
) -> Path:
    """Write one variant's composite PNG and JSON sidecar (and the raw provider file if
    ``raw``) as one claimed set (:func:`write_set`). The PNG embeds :func:`shareable`
    (``details`` False: no prompt, no parameters); the sidecar always has the details (a
    batch re-run reads them), and neither has a local path.

    Returns:
        The PNG's path.

    Raises:
        OSError: it could not be written (nothing of the set is left behind).
    """
    from ..textsafe import clean_json

    photo: Photo = job.request.photo
    record = variant_metadata(job, variant)
    # the image embeds details only if asked; its sidecar (a local companion that lets a
    # batch re-run skip what is done) always has them, never a local path either way
    meta = clean_json(shareable(record, details=details))
    side_meta = clean_json(shareable(record))
    composite = photo.export_rgb(apply_layer(photo.rgb, variant.layer))
    png = encode_png(
        composite,
        alpha=photo.alpha,
        icc=photo.icc_profile,
        text=meta,
        exif=photo.exif,
        dpi=photo.dpi,
        keep=photo.metadata,
    )
    raw_data = None
    if raw and (variant.raw is not None or variant.raw_pixels is not None):
        raw_data = variant.raw if variant.raw is not None else encode_png(variant.raw_pixels)

    def files(n: int) -> dict[str, bytes]:
        out = {".png": png}
        side = dict(side_meta)
        if raw_data is not None:
            suffix = f"-raw.{file_extension(raw_data)}"
            out[suffix] = raw_data
            side["raw_path"] = f"{stem}-edit-{n}{suffix}"
        out[".json"] = json.dumps(side, indent=2, ensure_ascii=False).encode()
        return out

    _, paths = write_set(out_dir, stem, index, files)
    return paths[".png"]
