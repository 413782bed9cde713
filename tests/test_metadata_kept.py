"""A photographer's metadata survives an edit (issue 20): XMP (creator, copyright, rating;
ModifyDate and CreatorTool updated), IPTC (APP13), a PNG's gAMA/cHRM chunks and
Author/Copyright text, EXIF Orientation written as 1, and the edit record in Exif
UserComment with the standard's type (UNDEFINED) and character code. Bytes are read back
with Pillow and a small EXIF parser, not with the writer's own code."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from inpaint_studio.core.formats.output import encode_export
from inpaint_studio.core.pixels.imaging import load_image

XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/" xmp:Rating="4" '
    b'xmp:ModifyDate="2020-01-01T00:00:00" xmp:CreatorTool="Camera 1.0" '
    b'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="48,51.4N">'
    b"<dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li></rdf:Seq></dc:creator>"
    b'<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">(c) Jane Doe</rdf:li></rdf:Alt>'
    b"</dc:rights></rdf:Description></rdf:RDF></x:xmpmeta>"
    b'<?xpacket end="w"?>'
)


def iptc_app13() -> bytes:
    """A Photoshop IRB holding IPTC By-line (2:80) and Copyright (2:116)."""
    datasets = b""
    for number, value in ((80, b"Jane Doe"), (116, b"(c) Jane Doe")):
        datasets += b"\x1c\x02" + bytes([number]) + struct.pack(">H", len(value)) + value
    irb = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(datasets)) + datasets
    if len(datasets) % 2:
        irb += b"\0"
    return b"Photoshop 3.0\0" + irb


def user_comment(data: bytes) -> tuple[int, bytes]:
    """``(type, value)`` of Exif UserComment in an ``Exif\\0\\0`` block."""
    tiff = data[6:] if data.startswith(b"Exif") else data
    bo = "<" if tiff[:2] == b"II" else ">"
    ifd0 = struct.unpack(bo + "I", tiff[4:8])[0]
    for i in range(struct.unpack(bo + "H", tiff[ifd0 : ifd0 + 2])[0]):
        tag, _t, _c, exif_at = struct.unpack(
            bo + "HHII", tiff[ifd0 + 2 + 12 * i : ifd0 + 14 + 12 * i]
        )
        if tag != 0x8769:
            continue
        for j in range(struct.unpack(bo + "H", tiff[exif_at : exif_at + 2])[0]):
            entry = tiff[exif_at + 2 + 12 * j : exif_at + 14 + 12 * j]
            tag, typ, count, at = struct.unpack(bo + "HHII", entry)
            if tag == 0x9286:
                return typ, tiff[at : at + count]
    raise KeyError("UserComment")


@pytest.fixture
def jpeg_photo(data_dir, tmp_path):
    img = Image.open(data_dir / "rocket.jpg")
    exif = img.getexif()
    exif[0x0112] = 6  # stored on its side
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, xmp=XMP, exif=exif.tobytes())
    data = buf.getvalue()
    at = 2 + 2 + struct.unpack(">H", data[4:6])[0]  # after SOI and APP0
    seg = iptc_app13()
    data = data[:at] + b"\xff\xed" + struct.pack(">H", len(seg) + 2) + seg + data[at:]
    return load_image(data, keep_source=True)


def test_jpeg_keeps_xmp_iptc_and_writes_a_standard_user_comment(jpeg_photo):
    out = Image.open(
        io.BytesIO(encode_export(jpeg_photo.rgb, jpeg_photo, ".jpg", {"prompt": "łódź"}))
    )
    xmp = out.info["xmp"]
    assert b"Jane Doe" in xmp and b'xmp:Rating="4"' in xmp and b"(c) Jane Doe" in xmp
    assert b'xmp:CreatorTool="Inpaint Studio"' in xmp and b"2020-01-01" not in xmp
    assert b"GPSLatitude" in xmp  # the photographer's own metadata, kept by default
    private = encode_export(jpeg_photo.rgb, jpeg_photo, ".jpg", remove_location=True)
    assert b"GPSLatitude" not in Image.open(io.BytesIO(private)).info["xmp"]
    app13 = [payload for marker, payload in out.applist if marker == "APP13"]
    assert app13 == [iptc_app13()]
    exif = out.getexif()
    assert exif[0x0112] == 1  # upright pixels, said so (not removed)
    typ, value = user_comment(out.info["exif"])
    assert typ == 7 and value.startswith(b"ASCII\0\0\0")  # UNDEFINED, ASCII code
    assert json.loads(value[8:].decode("ascii")) == {"prompt": "łódź"}


def test_png_keeps_gamma_chromaticity_text_and_xmp(data_dir):
    img = Image.open(data_dir / "coffee.png").convert("RGB")
    info = PngImagePlugin.PngInfo()
    info.add(b"gAMA", struct.pack(">I", 45455))
    info.add(b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000))
    info.add_text("Author", "Jane Doe")
    info.add_itxt("Copyright", "© Jane Doe")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode("utf-8"))
    buf = io.BytesIO()
    img.save(buf, "PNG", pnginfo=info)
    photo = load_image(buf.getvalue(), keep_source=True)
    for suffix in (".png", ".webp"):
        out = Image.open(io.BytesIO(encode_export(np.asarray(photo.rgb), photo, suffix)))
        xmp = out.info.get("xmp") or out.info.get("XML:com.adobe.xmp")
        xmp = xmp.encode() if isinstance(xmp, str) else xmp
        assert b"Jane Doe" in xmp and b'CreatorTool="Inpaint Studio"' in xmp, suffix
        if suffix == ".png":
            assert out.info["gamma"] == pytest.approx(0.45455)
            assert out.info["chromaticity"] == pytest.approx(
                (0.3127, 0.329, 0.64, 0.33, 0.3, 0.6, 0.15, 0.06)
            )
            assert out.text["Author"] == "Jane Doe" and out.text["Copyright"] == "© Jane Doe"
