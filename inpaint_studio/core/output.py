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
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from .composite import apply_layer
from .imaging import Photo

PNG_TEXT_KEY = "inpaint-studio"


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename; the old file survives failures."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def encode_png(rgb: np.ndarray, *, alpha: np.ndarray | None = None, icc: bytes | None = None,
               text: dict | None = None, compress_level: int = 1) -> bytes:
    """Encode ``(H, W, 3) uint8`` (plus optional ``(H, W) uint8`` alpha) as PNG bytes.

    ``compress_level`` 1 keeps an 18 MP photo around a second to write (level 6: ~4×).
    """
    import io

    if alpha is not None:
        img = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    else:
        img = Image.fromarray(rgb, "RGB")
    info = PngImagePlugin.PngInfo()
    if text is not None:
        info.add_itxt(PNG_TEXT_KEY, json.dumps(text, ensure_ascii=False))
    buf = io.BytesIO()
    kwargs: dict = {"pnginfo": info, "compress_level": compress_level}
    if icc:
        kwargs["icc_profile"] = icc
    img.save(buf, "PNG", **kwargs)
    return buf.getvalue()


def file_extension(data: bytes) -> str:
    """``jpg``, ``webp`` or ``png`` from a file's first bytes."""
    return "jpg" if data[:2] == b"\xff\xd8" else "webp" if data[8:12] == b"WEBP" else "png"


def next_index(out_dir: Path, stem: str) -> int:
    """The first free number ``n`` for ``<stem>-edit-<n>.png`` in ``out_dir``."""
    pattern = re.compile(rf"^{re.escape(stem)}-edit-(\d+)\.png$")
    used = [int(m.group(1)) for p in out_dir.glob(f"{stem}-edit-*.png") if (m := pattern.match(p.name))]
    return max(used, default=0) + 1


def claim(out_dir: Path, stem: str, index: int) -> tuple[int, Path]:
    """Reserve ``<stem>-edit-<n>.png`` for the first free ``n >= index`` by creating it
    exclusively, so runs writing into one folder at once never take the same name."""
    while True:
        path = out_dir / f"{stem}-edit-{index}.png"
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return index, path
        except FileExistsError:
            index += 1


def variant_metadata(job, variant) -> dict:
    """Everything known about one variant, JSON-able (no pixels, no keys)."""
    return {
        "app": "Inpaint Studio",
        "provider": job.provider.name,
        "provider_label": job.provider.label,
        "parameters": job.request.parameters(),
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


def write_variant(job, variant, out_dir: Path, stem: str, index: int, *, raw: bool = False) -> Path:
    """Write one variant's composite PNG and JSON sidecar (and the raw provider file if ``raw``).

    Returns:
        The PNG's path.
    """
    photo: Photo = job.request.photo
    meta = variant_metadata(job, variant)
    composite = apply_layer(photo.rgb, variant.layer)
    index, path = claim(out_dir, stem, index)
    atomic_write(path, encode_png(composite, alpha=photo.alpha, icc=photo.icc_profile, text=meta))
    if raw and (variant.raw is not None or variant.raw_pixels is not None):
        data = variant.raw if variant.raw is not None else encode_png(variant.raw_pixels)
        raw_path = out_dir / f"{stem}-edit-{index}-raw.{file_extension(data)}"
        atomic_write(raw_path, data)
        meta["raw_path"] = raw_path.name
    atomic_write(path.with_suffix(".json"), json.dumps(meta, indent=2, ensure_ascii=False).encode())
    return path
