"""Issue 20: layered files other programs read right — Unicode layer names (``luni``) with an
ASCII fallback, the photo's resolution and colour profile, valid XML, PSD's size limit.
The bytes are checked, not psd-tools' own reading; Pillow reads the PSD as a second reader."""

from __future__ import annotations

import io
import re
import struct
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
from PIL import Image, ImageCms

from inpaint_studio.core.errors import InvalidInput
from inpaint_studio.core.formats.layered import StackLayer, export_layers
from inpaint_studio.core.pixels.imaging import load_image

NAMES = [
    "Original",
    "деревянная лодка · 42 · DEFAULT",
    "łódź żaglowa · 7 · TURBO",
    "木船 · 1 · QUALITY",
    "木の舟 🚣 · 9 · DEFAULT",
    "tab\there\x07bell · 3 · DEFAULT",
]


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def stack(data_dir):
    photo = load_image(data_dir / "coffee.png", keep_source=True)
    photo.dpi, photo.icc_profile = (350.0, 350.0), srgb_profile()
    h, w = photo.rgb.shape[:2]
    layers = [StackLayer(NAMES[0], 0, 0, np.dstack([photo.rgb, np.full((h, w), 255, np.uint8)]))]
    rng = np.random.default_rng(1)
    for i, name in enumerate(NAMES[1:]):
        rgba = rng.integers(0, 256, (40 + i, 60 + i, 4), dtype=np.uint8)
        layers.append(StackLayer(name, 10 * i, 5 * i, rgba, visible=i % 2 == 0, opacity=0.8))
    return photo, layers


def luni_names(data: bytes) -> list[str]:
    """Every ``luni`` tagged block's string (4-byte length, 4-byte count, UTF-16BE)."""
    out = []
    for m in re.finditer(rb"8BIMluni", data):
        count = struct.unpack(">I", data[m.end() + 4 : m.end() + 8])[0]
        raw = data[m.end() + 8 : m.end() + 8 + 2 * count]
        out.append(raw.decode("utf-16-be").rstrip("\x00"))
    return out


def resource(data: bytes, rid: int) -> bytes:
    """Image resource ``rid`` of a PSD (its data block)."""
    header_end = 26
    cmd_len = struct.unpack(">I", data[header_end : header_end + 4])[0]
    pos = header_end + 4 + cmd_len
    total = struct.unpack(">I", data[pos : pos + 4])[0]
    pos, end = pos + 4, pos + 4 + total
    while pos < end:
        assert data[pos : pos + 4] == b"8BIM"
        key = struct.unpack(">H", data[pos + 4 : pos + 6])[0]
        nlen = data[pos + 6]
        pos += 6 + (nlen + 1 + (nlen + 1) % 2)
        size = struct.unpack(">I", data[pos : pos + 4])[0]
        block = data[pos + 4 : pos + 4 + size]
        pos += 4 + size + size % 2
        if key == rid:
            return block
    raise KeyError(rid)


def test_psd_names_resolution_and_profile_in_the_bytes(data_dir, tmp_path):
    photo, layers = stack(data_dir)
    out = export_layers(tmp_path / "x.psd", photo, layers)
    data = out.read_bytes()
    assert luni_names(data) == [n[:250] for n in NAMES]  # every name, whole, in Unicode
    x, _, _, y, _, _ = struct.unpack(">IHHIHH", resource(data, 1005))
    assert (x / 65536, y / 65536) == (350.0, 350.0)
    assert resource(data, 1039) == photo.icc_profile
    # a second reader: Pillow's PSD plugin sees every layer at its place, named in ASCII
    im = Image.open(io.BytesIO(data))
    assert len(im.layers) == len(layers)
    for (name, _mode, bbox, *_), lay in zip(im.layers, layers, strict=True):
        assert bbox == (lay.x, lay.y, lay.x + lay.rgba.shape[1], lay.y + lay.rgba.shape[0])
        assert name.isascii() and name.strip("?- ") != ""
    assert im.layers[1][0].endswith("- 42 - DEFAULT") and "lodz" in im.layers[2][0]


def test_psd_refuses_a_canvas_over_its_limit_in_a_sentence(tmp_path):
    from inpaint_studio.core.pixels.imaging import Photo

    photo = Photo(np.zeros((600, 32000, 3), np.uint8))
    layers = [StackLayer("Original", 0, 0, np.zeros((600, 32000, 4), np.uint8))]
    with pytest.raises(InvalidInput, match=r"32000×600 px .* OpenRaster \(\.ora\)"):
        export_layers(tmp_path / "pano.psd", photo, layers)
    assert not (tmp_path / "pano.psd").exists()


def test_ora_is_valid_xml_with_resolution_and_profiles(data_dir, tmp_path):
    photo, layers = stack(data_dir)
    out = export_layers(tmp_path / "x.ora", photo, layers)
    with zipfile.ZipFile(out) as z:
        root = ET.fromstring(z.read("stack.xml"))  # a strict parser, as MyPaint's
        assert (root.get("xres"), root.get("yres")) == ("350", "350")
        names = [e.get("name") for e in root.iter("layer")][::-1]
        assert names[:5] == NAMES[:5] and names[5] == "tab\there bell · 3 · DEFAULT"
        for e in root.iter("layer"):
            assert Image.open(io.BytesIO(z.read(e.get("src")))).info.get("icc_profile") == (
                photo.icc_profile
            )
        merged = Image.open(io.BytesIO(z.read("mergedimage.png")))
        assert merged.info.get("icc_profile") == photo.icc_profile
