"""A photo's own metadata beyond EXIF and the colour profile, kept through an edit: the XMP
packet (creator, copyright, rating…), IPTC (a JPEG's APP13), and a PNG's colour chunks
(``gAMA``, ``cHRM``, ``sRGB``) and text (Author, Copyright…). Read bounded (the file is
untrusted), written back by :mod:`~inpaint_studio.core.formats.output`."""

from __future__ import annotations

import re
import struct
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from PIL import Image

#: Largest XMP packet kept, bytes (Adobe's own limit for a JPEG's main packet is 64 KB;
#: extended packets are not kept)
MAX_XMP = 1_000_000
#: Largest IPTC (APP13) block kept, bytes (one JPEG segment)
MAX_IPTC = 65_000
#: PNG text kept: at most this many keys, each value at most MAX_TEXT characters
MAX_TEXT_KEYS = 32
MAX_TEXT = 64_000
#: PNG text keys never copied (ours is written anew; the XMP travels separately)
SKIP_TEXT = {"inpaint-studio", "XML:com.adobe.xmp", "icc_profile", "exif"}
CREATOR_TOOL = "Inpaint Studio"


@dataclass
class SourceMetadata:
    """What a photo's file said about itself, to be written again.

    Attributes:
        xmp: the XMP packet (UTF-8 XML bytes), or None.
        iptc: a JPEG's APP13 segment payload (Photoshop IRB holding IPTC), or None.
        gamma: PNG ``gAMA`` (e.g. 0.45455), or None.
        chromaticity: PNG ``cHRM`` (8 numbers: white x, y, red x, y, green x, y, blue x, y).
        srgb: PNG ``sRGB`` rendering intent 0–3, or None.
        text: PNG text chunks (Author, Copyright, Title, Description…).
    """

    xmp: bytes | None = None
    iptc: bytes | None = None
    gamma: float | None = None
    chromaticity: tuple[float, ...] | None = None
    srgb: int | None = None
    text: dict[str, str] = field(default_factory=dict)


def read_metadata(img: Image.Image) -> SourceMetadata:
    """The metadata of an opened (not yet converted) image; anything malformed or over its
    bound is left out, never an error."""
    info = img.info
    meta = SourceMetadata()
    xmp = info.get("xmp") or info.get("XML:com.adobe.xmp")
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    if isinstance(xmp, bytes) and 0 < len(xmp) <= MAX_XMP and _parses(xmp):
        meta.xmp = xmp
    for marker, payload in getattr(img, "applist", []) or []:
        if marker == "APP13" and payload.startswith(b"Photoshop 3.0\0"):
            if len(payload) <= MAX_IPTC:
                meta.iptc = payload
            break
    gamma = info.get("gamma")
    if isinstance(gamma, int | float) and 0 < gamma < 10:
        meta.gamma = float(gamma)
    chrm = info.get("chromaticity")
    if isinstance(chrm, tuple) and len(chrm) == 8 and all(isinstance(v, float) for v in chrm):
        if all(0 <= v <= 1 for v in chrm):
            meta.chromaticity = chrm
    srgb = info.get("srgb")
    if isinstance(srgb, int) and 0 <= srgb <= 3:
        meta.srgb = srgb
    if img.format == "PNG":
        for key, value in list(getattr(img, "text", {}).items())[:MAX_TEXT_KEYS]:
            if key in SKIP_TEXT or not isinstance(value, str) or len(value) > MAX_TEXT:
                continue
            if isinstance(key, str) and 0 < len(key) < 80 and key.isprintable():
                meta.text[key] = str(value)
    return meta


def _parses(xml: bytes) -> bool:
    try:
        ET.fromstring(_packet_body(xml))
    except ET.ParseError:
        return False
    return True


def _packet_body(xml: bytes) -> bytes:
    """The XML of an XMP packet without its ``<?xpacket …?>`` wrappers."""
    return re.sub(rb"<\?xpacket[^>]*\?>", b"", xml).strip()


def updated_xmp(xmp: bytes, when: float | None = None) -> bytes:
    """``xmp`` with ``xmp:ModifyDate`` (now, or ``when``, epoch s) and ``xmp:CreatorTool``
    set, everything else as it was; the packet unchanged if it cannot be updated safely."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(when))
    text = xmp.decode("utf-8", "replace")
    for name, value in (("ModifyDate", stamp), ("CreatorTool", CREATOR_TOOL)):
        attr = re.compile(rf'(xmp:{name}=")[^"]*(")')
        elem = re.compile(rf"(<xmp:{name}>)[^<]*(</xmp:{name}>)")
        if attr.search(text):
            text = attr.sub(rf"\g<1>{value}\g<2>", text, count=1)
        elif elem.search(text):
            text = elem.sub(rf"\g<1>{value}\g<2>", text, count=1)
        else:
            desc = re.search(r"<rdf:Description\b", text)
            if desc is None:
                return xmp
            ns = (
                ""
                if 'xmlns:xmp="http://ns.adobe.com/xap/1.0/"' in text
                else ' xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
            )
            at = desc.end()
            text = text[:at] + f'{ns} xmp:{name}="{value}"' + text[at:]
    out = text.encode("utf-8")
    return out if _parses(out) else xmp


def without_location(xmp: bytes) -> bytes:
    """``xmp`` without its ``exif:GPS…`` properties (Preferences ▸ Remove location); the
    packet unchanged if the result would not parse."""
    text = xmp.decode("utf-8", "replace")
    text = re.sub(r'\s+exif:GPS\w+="[^"]*"', "", text)
    text = re.sub(r"<exif:GPS(\w+)\b[^>]*>.*?</exif:GPS\1>", "", text, flags=re.S)
    out = text.encode("utf-8")
    return out if _parses(out) else xmp


def png_chunks(meta: SourceMetadata, pnginfo) -> None:
    """Add ``meta``'s colour chunks, text and XMP to a ``PngImagePlugin.PngInfo``."""
    if meta.gamma is not None:
        pnginfo.add(b"gAMA", struct.pack(">I", round(meta.gamma * 100_000)))
    if meta.chromaticity is not None:
        pnginfo.add(b"cHRM", struct.pack(">8I", *(round(v * 100_000) for v in meta.chromaticity)))
    if meta.srgb is not None:
        pnginfo.add(b"sRGB", bytes([meta.srgb]))
    for key, value in meta.text.items():
        pnginfo.add_itxt(key, value)
    if meta.xmp is not None:
        pnginfo.add_itxt("XML:com.adobe.xmp", updated_xmp(meta.xmp).decode("utf-8"))


def with_app13(jpeg: bytes, iptc: bytes | None) -> bytes:
    """``jpeg`` with an APP13 segment (``iptc``) after its leading APPn segments."""
    if not iptc or not jpeg.startswith(b"\xff\xd8") or len(iptc) + 2 > 65_535:
        return jpeg
    pos = 2
    while pos + 4 <= len(jpeg) and jpeg[pos] == 0xFF and 0xE0 <= jpeg[pos + 1] <= 0xEF:
        pos += 2 + struct.unpack(">H", jpeg[pos + 2 : pos + 4])[0]
    segment = b"\xff\xed" + struct.pack(">H", len(iptc) + 2) + iptc
    return jpeg[:pos] + segment + jpeg[pos:]
