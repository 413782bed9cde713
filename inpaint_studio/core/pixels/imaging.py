"""Loading photos and masks (what is uploaded is encoded by :mod:`.upload`).

Conventions used across the program:

- a photo is ``(H, W, 3) uint8`` RGB, rows first;
- a mask is ``(H, W) bool``, ``True`` = "edit here"; each provider converts it to its own
  polarity at its edge (Ideogram: black = edit);
- sizes are ``(width, height)`` in pixels, byte counts in bytes.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from ..errors import ImageLoadError, MaskError
from .metadata import SourceMetadata, read_metadata
from .upload import (  # noqa: F401  (re-exported: the upload encoding lived here)
    LOSSLESS_BUDGET,
    UPLOAD_FORMATS,
    UPLOAD_LIMIT,
    UPLOAD_QUALITY,
    EncodedImage,
    _png,
    encode_for_upload,
    encode_mask,
)

#: Largest photo we decode, in pixels (200 MP). Larger files are refused as a possible
#: decompression bomb instead of exhausting memory.
MAX_PIXELS = 200_000_000

Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def flatten_on_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``(H, W, 3) uint8`` straight colour ``rgb`` with ``(H, W) uint8`` ``alpha`` composited
    onto white (rounded), as the editor and the models see a transparent photo."""
    af = alpha[..., None].astype(np.uint16)
    return ((rgb.astype(np.uint16) * af + 255 * (255 - af) + 127) // 255).astype(np.uint8)


@dataclass(eq=False)
class Photo:
    """A decoded photo.

    Attributes:
        rgb: ``(H, W, 3) uint8`` pixels after EXIF orientation and colour conversion; may be
            read-only: copy before changing.
        alpha: ``(H, W) uint8`` transparency of the file, or ``None``. The RGB pixels of a
            transparent area are flattened onto white for editing and upload (no provider
            takes alpha); the alpha channel itself is re-attached unchanged on export.
        icc_profile: the file's embedded colour profile, kept to embed on export (RGB values
            are not converted, so colours round-trip exactly); ``None`` when absent.
        source_format: Pillow's format name of the file (``"JPEG"``, ``"PNG"`` …).
        path: where it was read from, or ``None`` for bytes.
        source: the file's bytes, unchanged, when loaded with ``keep_source=True``.
        exif: the file's EXIF block with its orientation normalised (the pixels are already
            upright, so the tag says 1), kept to embed on export; ``None`` when absent or
            unreadable.
        dpi: ``(x, y)`` pixels per inch the file declares, or ``None``.
        metadata: its XMP, IPTC and PNG colour chunks and text
            (:class:`~inpaint_studio.core.pixels.metadata.SourceMetadata`), kept on export.
        straight: ``(H, W, 3) uint8`` the file's own (straight, not flattened) colour where
            it is partly transparent, or ``None`` (opaque photos). Outputs carry it outside
            the edits (:meth:`export_rgb`), so a transparent photo comes back bit-identical
            outside the mask, never lightened by the white it was edited on.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    icc_profile: bytes | None = None
    source_format: str = ""
    path: Path | None = None
    source: bytes | None = field(default=None, repr=False)
    exif: bytes | None = field(default=None, repr=False)
    dpi: tuple[float, float] | None = None
    straight: np.ndarray | None = field(default=None, repr=False)
    metadata: SourceMetadata = field(default_factory=SourceMetadata, repr=False)

    def export_rgb(self, rgb: np.ndarray) -> np.ndarray:
        """``rgb`` (``(H, W, 3) uint8``, this photo's size: a composite) as written to a file
        with :attr:`alpha`: where it still equals the photo as the file flattened it, the
        file's own straight colour; elsewhere (edits) ``rgb`` unchanged."""
        if self.straight is None or self.alpha is None or rgb.shape != self.straight.shape:
            return rgb
        unchanged = (rgb == flatten_on_white(self.straight, self.alpha)).all(axis=2)
        out = np.array(rgb, copy=True)
        out[unchanged] = self.straight[unchanged]
        return out

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return self.rgb.shape[1], self.rgb.shape[0]


def _describe(source: str | Path | bytes) -> str:
    return "The data" if isinstance(source, bytes | bytearray) else f"“{Path(source).name}”"


def check_regular(path, name: str) -> None:
    """Refuse anything but a regular file before it is opened: a FIFO or a device would block
    a read forever (or never end).

    Raises:
        ImageLoadError: it does not exist, is a folder, or is not a regular file.
    """
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ImageLoadError(f"{name} does not exist.") from None
    except OSError as exc:
        raise ImageLoadError(f"{name} cannot be read: {exc.strerror or exc}.") from None
    if stat.S_ISDIR(mode):
        raise ImageLoadError(f"{name} is a folder, not an image file.")
    if not stat.S_ISREG(mode):
        raise ImageLoadError(
            f"{name} is not a regular file (a pipe or a device), so it was not read."
        )


def _file(path, name: str, read):
    """``read(path)``, with every file-system failure as one :class:`ImageLoadError` sentence."""
    check_regular(path, name)
    try:
        return read(path)
    except FileNotFoundError:
        raise ImageLoadError(f"{name} does not exist.") from None
    except IsADirectoryError:
        raise ImageLoadError(f"{name} is a folder, not an image file.") from None
    except OSError as exc:
        raise ImageLoadError(f"{name} cannot be read: {exc.strerror or exc}.") from None


def _reader(source: str | Path | bytes, name: str):
    """A binary file object over ``source`` (bytes, or a regular file: see :func:`_file`)."""
    if isinstance(source, bytes | bytearray):
        return io.BytesIO(source)
    return _file(source, name, lambda p: open(p, "rb"))


def _open(source: str | Path | bytes, label: str | None = None) -> Image.Image:
    """Open ``source`` and decode it fully, mapping every failure to :class:`ImageLoadError`."""
    name = label or _describe(source)
    fp = _reader(source, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(fp)
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise ImageLoadError(
                    f"{name} is {w}×{h} pixels, more than the {MAX_PIXELS // 1_000_000} MP "
                    "this program opens safely."
                )
            _check_plausible(img, fp, name)
            img.load()
        return img
    except ImageLoadError:
        fp.close()
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        fp.close()
        raise ImageLoadError(
            f"{name} claims an enormous pixel size and was refused as a possible "
            "decompression bomb."
        ) from None
    except UnidentifiedImageError:
        fp.close()
        raise ImageLoadError(f"{name} is not an image file Inpaint Studio can read.") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        fp.close()
        text = str(exc)
        if "truncated" in text or "broken data stream" in text or isinstance(exc, EOFError):
            raise ImageLoadError(f"{name} is truncated or damaged and cannot be opened.") from None
        raise ImageLoadError(f"{name} is damaged and cannot be opened ({text}).") from None


#: Fewest bits per pixel a whole JPEG can have: a flat grey picture needs about 0.06 (its
#: entropy-coded blocks alone), so a file far below this holds only part of its image, and
#: libjpeg would pad the rest with grey instead of failing.
MIN_JPEG_BITS_PER_PIXEL = 0.008


def _check_plausible(img: Image.Image, fp, name: str) -> None:
    """Refuse a JPEG whose header claims far more pixels than its data can hold (a 48 KB file
    claiming 14000×14000): it is truncated or damaged, never padded and sent.

    Raises:
        ImageLoadError: the file is too small for its size.
    """
    if img.format != "JPEG":
        return
    try:
        pos = fp.tell()
        size = fp.seek(0, io.SEEK_END)
        fp.seek(pos)
    except (OSError, AttributeError):
        return
    w, h = img.size
    if size * 8 < MIN_JPEG_BITS_PER_PIXEL * w * h:
        raise ImageLoadError(
            f"{name} is truncated or damaged: its {size / 1000:.0f} KB cannot hold the "
            f"{w}×{h} pixels its header claims."
        )


def header_size(source: str | Path | bytes, label: str | None = None) -> tuple[int, int]:
    """An image's upright ``(width, height)`` in pixels from its header, decoding nothing
    (EXIF orientations 5–8 swap the two, as :func:`load_image` will).

    Raises:
        ImageLoadError: not a readable image, or not a regular file.
    """
    name = label or _describe(source)
    fp = _reader(source, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(fp) as img:
                w, h = img.size
                try:
                    # getexif() would decode a PNG to find a late eXIf chunk
                    if img.format == "PNG":
                        exif = Image.Exif()
                        if img.info.get("exif"):
                            exif.load(img.info["exif"])
                    else:
                        exif = img.getexif()
                    orientation = exif.get(0x0112, 1)
                except Exception:  # a damaged EXIF block: load_image ignores it too
                    orientation = 1
    except Image.DecompressionBombError:
        raise ImageLoadError(
            f"{name} claims an enormous pixel size and was refused as a possible "
            "decompression bomb."
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise ImageLoadError(f"{name} is not an image file Inpaint Studio can read.") from None
    finally:
        fp.close()
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def _to_8bit(img: Image.Image) -> Image.Image:
    """Scale 16/32-bit integer and float greyscale images to 8-bit ``L``."""
    arr = np.asarray(img)
    if img.mode.startswith("I;16") or (img.mode == "I" and arr.max(initial=0) > 255):
        out = (arr.astype(np.uint32) >> 8).clip(0, 255).astype(np.uint8)
    elif img.mode == "F":
        scale = 255.0 if arr.max(initial=0) <= 1.0 else 1.0
        out = (arr * scale).clip(0, 255).astype(np.uint8)
    else:
        out = arr.clip(0, 255).astype(np.uint8)
    return Image.fromarray(out, "L")


def load_image(
    source: str | Path | bytes, *, keep_source: bool = False, name: str | None = None
) -> Photo:
    """Decode a photo for editing.

    Any format Pillow reads is accepted. EXIF orientation is applied. CMYK is converted to
    RGB through its embedded ICC profile when it has one; palette, greyscale, 16-bit
    (scaled, not clipped) and float images become 8-bit RGB. Alpha is split off: see
    :class:`Photo`.

    Args:
        source: a path, or the file's bytes.
        keep_source: keep the file's bytes unchanged in ``Photo.source`` (for project files).
        name: the file name to use in messages when ``source`` is bytes.

    Returns:
        A :class:`Photo`.

    Raises:
        ImageLoadError: missing, truncated or non-image file, or over :data:`MAX_PIXELS`.
    """
    raw: bytes | None = bytes(source) if isinstance(source, bytes | bytearray) else None
    label = f"“{name}”" if name else None
    if keep_source and raw is None:
        label = _describe(source)
        raw = _file(source, label, lambda p: Path(p).read_bytes())
    img = _open(raw if raw is not None else source, label)
    fmt = img.format or ""
    metadata = read_metadata(img)  # before any conversion drops the file's own segments
    icc = img.info.get("icc_profile")
    dpi = _dpi(img)
    try:
        oriented = 0x0112 in img.getexif()
    except Exception:
        oriented = False
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # a damaged EXIF block must not stop the photo from opening
        pass
    exif = _upright_exif(img, oriented)
    alpha: np.ndarray | None = None
    straight: np.ndarray | None = None
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        img = _to_8bit(img)
    if img.mode == "CMYK":
        if icc:
            try:
                src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
                img = ImageCms.profileToProfile(  # type: ignore[assignment]  # not in place: an image
                    img, src, ImageCms.createProfile("sRGB"), outputMode="RGB"
                )
            except (ImageCms.PyCMSError, OSError):
                img = img.convert("RGB")
        else:
            img = img.convert("RGB")
        icc = None
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        a = np.asarray(rgba)
        alpha = a[..., 3].copy()
        if alpha.min() == 255:
            alpha = None
            rgb = np.ascontiguousarray(a[..., :3])
        else:
            # flattened onto white so transparent areas are neutral for the model; the file's
            # own colour is kept for the outputs
            straight = np.ascontiguousarray(a[..., :3])
            rgb = flatten_on_white(straight, alpha)
    else:
        if img.mode != "RGB":
            if icc and img.mode == "L":
                icc = None  # a grey profile does not describe the RGB we make
            img = img.convert("RGB")
        rgb = np.asarray(img)  # read-only: every edit works on a copy (saves a 54 MB copy on 18 MP)
    path = None if isinstance(source, bytes | bytearray) else Path(source)
    return Photo(
        rgb=rgb,
        alpha=alpha,
        icc_profile=icc,
        source_format=fmt,
        path=path,
        source=raw if keep_source else None,
        exif=exif,
        dpi=dpi,
        straight=straight,
        metadata=metadata,
    )


#: Largest EXIF block kept for export, in bytes (JPEG's APP1 segment holds at most 64 KB).
MAX_EXIF = 65_000


def _dpi(img: Image.Image) -> tuple[float, float] | None:
    """The file's declared pixels per inch, when it is a sane pair of positive numbers."""
    dpi = img.info.get("dpi")
    if dpi is None:
        return None
    try:
        x, y = float(dpi[0]), float(dpi[1])
    except (TypeError, ValueError, IndexError):
        return None
    return (x, y) if 1 <= x <= 100_000 and 1 <= y <= 100_000 else None


def _upright_exif(img: Image.Image, oriented: bool = False) -> bytes | None:
    """The EXIF block with Orientation 1 (pixels are already transposed; written as 1, not
    removed, when the file had the tag: ``oriented``); ``None`` when there is none, it is
    damaged, or it is larger than :data:`MAX_EXIF`."""
    if not img.info.get("exif") and not img.getexif():
        return None
    try:
        exif = img.getexif()
        if oriented or 0x0112 in exif:
            exif[0x0112] = 1
        data = exif.tobytes()
    except Exception:  # a damaged block is dropped, never fatal
        return None
    return data if 8 < len(data) <= MAX_EXIF else None


def load_mask(
    source: str | Path | bytes | np.ndarray, size: tuple[int, int], *, white_edits: bool = False
) -> np.ndarray:
    """Read a mask image and threshold it to an ``(H, W) bool`` "edit here" array.

    The file may be any image Pillow reads; it is converted to grey and thresholded at 50 %.
    By default black (< 128) means edit, the seed documents' convention (Ideogram: "black =
    edit, white = keep"); ``white_edits=True`` takes the inverse. A transparent pixel counts
    as white.

    Args:
        source: a path, bytes, or an already loaded ``(H, W)`` array (bool or uint8).
        size: the photo's ``(width, height)`` in pixels.
        white_edits: white marks the area to edit.

    Raises:
        ImageLoadError: the file cannot be read.
        MaskError: the mask is not ``size``.
    """
    if isinstance(source, np.ndarray):
        arr = source
        if arr.dtype == bool:
            mask = arr
        else:
            grey = arr if arr.ndim == 2 else arr[..., :3].mean(axis=2)
            mask = (grey >= 128) if white_edits else (grey < 128)
    else:
        img = _open(source)
        try:
            img = ImageOps.exif_transpose(img)
        except Exception:
            pass
        if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            img = _to_8bit(img)
        if img.mode in ("RGBA", "LA", "PA", "P"):
            rgba = img.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            img = Image.alpha_composite(white, rgba)
        grey = np.asarray(img.convert("L"))
        mask = (grey >= 128) if white_edits else (grey < 128)
    h, w = mask.shape[:2]
    if (w, h) != tuple(size):
        raise MaskError(
            f"The mask is {w}×{h} pixels but the photo is {size[0]}×{size[1]}; "
            "they must be the same size."
        )
    return np.ascontiguousarray(mask)


def mask_bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """Bounding box ``(x0, y0, x1, y1)`` (end exclusive, pixels) of the True pixels, or None."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask[rows[0] : rows[-1] + 1].any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


# --- reference images ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceImage:
    """A style or character reference as it will be uploaded.

    Attributes:
        name: file name shown to the user and sent as the part's filename.
        data: JPEG, PNG or WebP bytes (other formats are converted to PNG on load).
        format: ``"JPEG"``, ``"PNG"`` or ``"WEBP"``.
    """

    name: str
    data: bytes = field(repr=False)
    format: str

    @property
    def mime(self) -> str:
        return UPLOAD_FORMATS[self.format]


def load_reference(source: str | Path | bytes, name: str | None = None) -> ReferenceImage:
    """Read a reference image; formats other than JPEG/PNG/WebP are converted to PNG.

    Raises:
        ImageLoadError: the file is missing, damaged or not an image.
    """
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
        name = name or "reference"
    else:
        data = _file(source, f"“{Path(source).name}”", lambda p: Path(p).read_bytes())
        name = name or Path(source).name
    img = _open(data, f"“{name}”")
    if img.format in UPLOAD_FORMATS:
        return ReferenceImage(name, data, img.format)
    photo = load_image(data)
    stem = name.rsplit(".", 1)[0]
    return ReferenceImage(f"{stem}.png", _png(Image.fromarray(photo.rgb, "RGB")), "PNG")
