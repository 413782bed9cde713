"""Layered export: the original, the accepted edits and every variant as named layers, for
Photoshop, Krita and GIMP (Qt-free).

Formats (by the output's suffix):

- ``.psd``: Photoshop document written with psd-tools (MIT): 8-bit RGB, one pixel layer per
  entry at its offset, with its alpha, opacity and visibility; each layer's name as Unicode
  (the ``luni`` block) with an ASCII Pascal-string fallback; the photo's resolution (image
  resource 1005) and colour profile (1039). At most 30,000 px a side (Adobe's limit for
  PSD). Photoshop, Krita and GIMP read it.
- ``.ora``: OpenRaster, written to its specification (https://www.openraster.org/): a zip
  whose first member is the uncompressed ``mimetype`` (``image/openraster``), then
  ``stack.xml`` (topmost layer first), one PNG per layer under ``data/``, a
  ``Thumbnails/thumbnail.png`` (at most 256 px) and ``mergedimage.png``; ``xres``/``yres`` carry
  the photo's resolution and every PNG its colour profile. Krita and MyPaint read it.
- ``.png``: the visible composite, flat (PNG has no layers), with the photo's metadata.

Every layer is placed at its region (``x``, ``y`` in photo pixels) and keeps the blend's
alpha; hidden variants are hidden. The bottom layer is the original photo, exactly.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
from PIL import Image

from ..atomic import atomic_write
from ..pipeline.composite import blend_into
from ..pixels.imaging import Photo, flatten_on_white, load_image
from .output import encode_export, encode_png

#: Output formats by suffix.
LAYERED_FORMATS = (".psd", ".ora", ".png")


@dataclass(eq=False)
class StackLayer:
    """One layer of the exported stack.

    Attributes:
        name: what the layer panel shows (``prompt · seed · speed`` for a variant).
        x, y: its top-left corner in photo pixels.
        rgba: ``(h, w, 4) uint8`` straight (not premultiplied) alpha.
        visible: shown or hidden in the file.
        opacity: 0–1.
    """

    name: str
    x: int
    y: int
    rgba: np.ndarray
    visible: bool = True
    opacity: float = 1.0


def _opaque(rgb: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    a = alpha if alpha is not None else np.full(rgb.shape[:2], 255, np.uint8)
    return np.dstack([rgb, a])


def accepted_name(i: int, summaries: list) -> str:
    """``"Accepted edit 2 · a wooden boat · 42 · DEFAULT"``: the number and, when the project
    recorded it (untrusted), the accepted layer's own name, so the prompt is not lost."""
    summary = summaries[i - 1] if i <= len(summaries) else None
    name = summary.get("name") if isinstance(summary, dict) else None
    if isinstance(name, str) and name.strip():
        return f"Accepted edit {i} · {name.strip()[:200]}"
    return f"Accepted edit {i}"


def _accepted(photo: Photo, x0: int, y0: int, patch: np.ndarray) -> np.ndarray:
    """An accepted edit's box as an RGBA layer: opaque on an opaque photo; on a transparent
    one with the photo's alpha and, where the box still shows the photo, its own colour."""
    if photo.alpha is None:
        return _opaque(patch)
    h, w = patch.shape[:2]
    box = (slice(y0, y0 + h), slice(x0, x0 + w))
    if photo.straight is not None:
        straight = photo.straight[box]
        unchanged = (patch == flatten_on_white(straight, photo.alpha[box])).all(axis=2)
        patch = np.where(unchanged[..., None], straight, patch)
    return _opaque(patch, photo.alpha[box])


def stack_from_project(state) -> tuple[Photo, list[StackLayer]]:
    """The layer stack of a :class:`~inpaint_studio.core.formats.project.ProjectState`, bottom first:
    the original, each accepted edit (its box, opaque: outside the mask it equals the photo
    below) and each variant with its blend alpha (pixel work: run in a thread).

    Raises:
        ImageLoadError: the project's photo cannot be decoded.
    """
    from ..errors import InvalidInput
    from .project import MAX_LAYER_PIXELS

    photo = load_image(state.original, keep_source=True, name=state.original_name)
    layers = [StackLayer("Original", 0, 0, _opaque(photo.export_rgb(photo.rgb), photo.alpha))]
    summaries = state.extra.get("accepted_layers") if isinstance(state.extra, dict) else None
    summaries = summaries if isinstance(summaries, list) else []
    for i, ((x0, y0, _, _), patch) in enumerate(state.accepted, 1):
        layers.append(
            StackLayer(accepted_name(i, summaries), x0, y0, _accepted(photo, x0, y0, patch))
        )
    rgba: dict[int, np.ndarray] = {}  # variants sharing one layer share its pixels (made once)
    total = 0
    for v in state.variants:
        if v.layer is None:
            continue
        lay = v.layer
        total += lay.rgb.shape[0] * lay.rgb.shape[1]
        if (
            total > MAX_LAYER_PIXELS
        ):  # what a layered file would hold, however the layers are shared
            raise InvalidInput(
                f"This project's layers hold more than {MAX_LAYER_PIXELS // 1_000_000} MP together; "
                "a layered file of them was not written."
            )
        if id(lay) not in rgba:
            rgba[id(lay)] = np.dstack([lay.rgb, lay.alpha])
        name = v.name or f"Variant {v.index + 1}"
        layers.append(StackLayer(name, lay.x0, lay.y0, rgba[id(lay)], v.visible, v.opacity))
    return photo, layers


def flatten(size: tuple[int, int], layers: list[StackLayer]) -> np.ndarray:
    """``(H, W, 3) uint8``: the visible layers blended bottom to top (the first is the base)."""
    from ..pipeline.composite import Layer

    w, h = size
    out = np.ascontiguousarray(layers[0].rgba[..., :3]).copy()
    for lay in layers[1:]:
        if lay.visible:
            blend_into(
                out, Layer.from_rgba(lay.x, lay.y, np.ascontiguousarray(lay.rgba)), lay.opacity
            )
    assert out.shape[:2] == (h, w)
    return out


#: the largest side a PSD holds (Adobe's file format specification; PSB goes further)
PSD_MAX_SIDE = 30_000


def xml_text(text: str) -> str:
    """``text`` with what XML 1.0 cannot hold (control characters but tab, newline and
    return; lone surrogates; U+FFFE/U+FFFF) replaced by spaces."""
    return "".join(
        c
        if (
            c in "\t\n\r" or 0x20 <= ord(c) < 0xD800 or 0xE000 <= ord(c) < 0xFFFE or ord(c) > 0xFFFF
        )
        else " "
        for c in text
    )


#: Latin letters Unicode does not decompose into a base letter and an accent
_NO_DECOMPOSITION = str.maketrans(
    {
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ı": "i",
        "þ": "th",
    }
)


def ascii_name(name: str, limit: int = 250) -> str:
    """The ASCII fallback of a layer name (PSD's Pascal string, read by programs that ignore
    the Unicode name): accents dropped, ``·`` as ``-``, anything else non-ASCII as ``?``."""
    import unicodedata

    out = []
    plain = name.replace("·", "-").translate(_NO_DECOMPOSITION)
    for c in unicodedata.normalize("NFKD", plain):
        if unicodedata.combining(c):
            continue
        out.append(c if 0x20 <= ord(c) < 0x7F else "?")
    return "".join(out)[:limit]


def _psd_resolution(dpi: tuple[float, float] | None) -> bytes:
    """Image resource 1005 (ResolutionInfo): horizontal and vertical pixels per inch as 16.16
    fixed point, shown in inches."""
    import struct

    x, y = dpi or (72.0, 72.0)
    return struct.pack(">IHHIHH", round(x * 65536), 1, 1, round(y * 65536), 1, 1)


def write_psd(
    path: Path,
    size: tuple[int, int],
    layers: list[StackLayer],
    *,
    dpi: tuple[float, float] | None = None,
    icc: bytes | None = None,
) -> None:
    """A Photoshop document of ``layers`` (bottom first) through psd-tools, with ``dpi``
    (pixels per inch; 72 when None) and the ``icc`` colour profile.

    Raises:
        InvalidInput: a side over :data:`PSD_MAX_SIDE` (one sentence naming OpenRaster).
        OSError: the file cannot be written.
    """
    from psd_tools import PSDImage
    from psd_tools.api.layers import PixelLayer
    from psd_tools.constants import Resource
    from psd_tools.psd.image_resources import ImageResource

    from ..errors import InvalidInput

    w, h = size
    if max(w, h) > PSD_MAX_SIDE:
        raise InvalidInput(
            f"This canvas is {w}×{h} px and a PSD holds at most {PSD_MAX_SIDE:,} px a side; "
            "export the layers as OpenRaster (.ora) instead."
        )
    psd = PSDImage.new("RGBA", size)  # an RGB document whose layers carry transparency (not a mask)
    resources = psd.image_resources
    resources[Resource.RESOLUTION_INFO] = ImageResource(
        key=Resource.RESOLUTION_INFO, data=_psd_resolution(dpi)
    )
    if icc:
        resources[Resource.ICC_PROFILE] = ImageResource(key=Resource.ICC_PROFILE, data=icc)
    for lay in layers:
        pil = Image.fromarray(np.ascontiguousarray(lay.rgba), "RGBA")
        name = lay.name[:250]
        px = PixelLayer.frompil(pil, psd, name=ascii_name(name), top=lay.y, left=lay.x)
        px.name = name  # the Unicode name (luni) ...
        px._record.name = ascii_name(name)  # ... and an ASCII Pascal string, never "?" alone
        px.visible = lay.visible
        px.opacity = round(255 * lay.opacity)
    buf = io.BytesIO()
    psd.save(buf)
    atomic_write(path, buf.getvalue())


def write_ora(
    path: Path,
    size: tuple[int, int],
    layers: list[StackLayer],
    merged: np.ndarray,
    *,
    dpi: tuple[float, float] | None = None,
    icc: bytes | None = None,
) -> None:
    """An OpenRaster file of ``layers`` (bottom first) with the merged image and thumbnail,
    ``dpi`` (pixels per inch, as ``xres``/``yres``) and the ``icc`` colour profile in every
    PNG.

    Raises:
        OSError: the file cannot be written.
    """
    w, h = size
    res = f' xres="{round(dpi[0])}" yres="{round(dpi[1])}"' if dpi else ""
    entries = []
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(
            zipfile.ZipInfo("mimetype"), b"image/openraster", compress_type=zipfile.ZIP_STORED
        )
        for i, lay in enumerate(layers):
            src = f"data/layer{i}.png"
            z.writestr(
                src,
                encode_png(
                    np.ascontiguousarray(lay.rgba[..., :3]),
                    alpha=np.ascontiguousarray(lay.rgba[..., 3]),
                    icc=icc,
                ),
                compress_type=zipfile.ZIP_STORED,
            )
            entries.append(
                f'    <layer name={quoteattr(xml_text(lay.name))} src="{src}" x="{lay.x}" y="{lay.y}" '
                f'opacity="{lay.opacity:.3f}" visibility="{"visible" if lay.visible else "hidden"}"/>'
            )
        stack = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<image version="0.0.5" w="{w}" h="{h}"{res}>\n  <stack>\n'
            + "\n".join(reversed(entries))
            + "\n  </stack>\n</image>\n"
        )  # topmost first
        z.writestr("stack.xml", stack.encode("utf-8"))
        z.writestr(
            "mergedimage.png",
            encode_png(merged, icc=icc, dpi=dpi),
            compress_type=zipfile.ZIP_STORED,
        )
        thumb = Image.fromarray(merged)
        thumb.thumbnail((256, 256))
        tb = io.BytesIO()
        thumb.save(tb, "PNG")
        z.writestr("Thumbnails/thumbnail.png", tb.getvalue(), compress_type=zipfile.ZIP_STORED)
    atomic_write(path, buf.getvalue())


def export_layers(
    out: Path, photo: Photo, layers: list[StackLayer], metadata: dict | None = None
) -> Path:
    """Write ``layers`` (bottom first, the first being the original) to ``out`` in the format
    of its suffix (:data:`LAYERED_FORMATS`); returns ``out`` (pixel and file work: thread).

    Raises:
        ValueError: an unknown suffix (one sentence naming the formats).
        InvalidInput: a canvas too large for the format (one sentence).
        OSError: the file cannot be written.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in LAYERED_FORMATS:
        raise ValueError(
            f"Layers can be exported as PSD, OpenRaster (.ora) or a flat PNG, not “{out.suffix or out.name}”."
        )
    size = photo.size
    if suffix == ".psd":
        write_psd(out, size, layers, dpi=photo.dpi, icc=photo.icc_profile)
    elif suffix == ".ora":
        write_ora(out, size, layers, flatten(size, layers), dpi=photo.dpi, icc=photo.icc_profile)
    else:
        atomic_write(out, encode_export(flatten(size, layers), photo, ".png", metadata))
    return out
