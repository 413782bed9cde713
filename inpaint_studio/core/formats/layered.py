"""Layered export: the original, the accepted edits and every variant as named layers, for
Photoshop, Krita and GIMP (Qt-free).

Formats (by the output's suffix):

- ``.psd``: Photoshop document written with psd-tools (MIT): 8-bit RGB, one pixel layer per
  entry at its offset, with its alpha, opacity and visibility. Photoshop, Krita and GIMP read it.
- ``.ora``: OpenRaster, written to its specification (https://www.openraster.org/): a zip
  whose first member is the uncompressed ``mimetype`` (``image/openraster``), then
  ``stack.xml`` (topmost layer first), one PNG per layer under ``data/``, a
  ``Thumbnails/thumbnail.png`` (at most 256 px) and ``mergedimage.png``. Krita and GIMP read it.
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
from ..pixels.imaging import Photo, load_image
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
    layers = [StackLayer("Original", 0, 0, _opaque(photo.rgb, photo.alpha))]
    for i, ((x0, y0, _, _), patch) in enumerate(state.accepted, 1):
        layers.append(StackLayer(f"Accepted edit {i}", x0, y0, _opaque(patch)))
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


def write_psd(path: Path, size: tuple[int, int], layers: list[StackLayer]) -> None:
    """A Photoshop document of ``layers`` (bottom first) through psd-tools.

    Raises:
        OSError: the file cannot be written.
    """
    from psd_tools import PSDImage
    from psd_tools.api.layers import PixelLayer

    psd = PSDImage.new("RGBA", size)  # an RGB document whose layers carry transparency (not a mask)
    for lay in layers:
        pil = Image.fromarray(np.ascontiguousarray(lay.rgba), "RGBA")
        px = PixelLayer.frompil(pil, psd, name=lay.name[:250], top=lay.y, left=lay.x)
        px.visible = lay.visible
        px.opacity = round(255 * lay.opacity)
        psd.append(px)
    buf = io.BytesIO()
    psd.save(buf)
    atomic_write(path, buf.getvalue())


def write_ora(
    path: Path, size: tuple[int, int], layers: list[StackLayer], merged: np.ndarray
) -> None:
    """An OpenRaster file of ``layers`` (bottom first) with the merged image and thumbnail.

    Raises:
        OSError: the file cannot be written.
    """
    w, h = size
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
                ),
                compress_type=zipfile.ZIP_STORED,
            )
            entries.append(
                f'    <layer name={quoteattr(lay.name)} src="{src}" x="{lay.x}" y="{lay.y}" '
                f'opacity="{lay.opacity:.3f}" visibility="{"visible" if lay.visible else "hidden"}"/>'
            )
        stack = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<image version="0.0.5" w="{w}" h="{h}">\n  <stack>\n'
            + "\n".join(reversed(entries))
            + "\n  </stack>\n</image>\n"
        )  # topmost first
        z.writestr("stack.xml", stack.encode("utf-8"))
        z.writestr("mergedimage.png", encode_png(merged), compress_type=zipfile.ZIP_STORED)
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
        write_psd(out, size, layers)
    elif suffix == ".ora":
        write_ora(out, size, layers, flatten(size, layers))
    else:
        atomic_write(out, encode_export(flatten(size, layers), photo, ".png", metadata))
    return out
