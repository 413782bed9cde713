from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from inpaint_studio.core.errors import ImageLoadError, MaskError
from inpaint_studio.core.pixels.imaging import (
    UPLOAD_LIMIT,
    encode_for_upload,
    encode_mask,
    load_image,
    load_mask,
    load_reference,
    mask_bbox,
)


def test_loads_real_png_and_jpeg(data_dir):
    chelsea = load_image(data_dir / "chelsea.png")
    assert chelsea.rgb.shape == (300, 451, 3) and chelsea.rgb.dtype == np.uint8
    assert chelsea.icc_profile  # kept for export
    rocket = load_image(data_dir / "rocket.jpg")
    assert rocket.size == (640, 427)
    assert np.array_equal(
        rocket.rgb, np.asarray(Image.open(data_dir / "rocket.jpg").convert("RGB"))
    )


def test_truncated_file_is_a_clear_error(data_dir, tmp_path):
    data = (data_dir / "rocket.jpg").read_bytes()
    bad = tmp_path / "cut.jpg"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match="truncated or damaged"):
        load_image(bad)


def test_text_file_named_png(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("this is not an image\n")
    with pytest.raises(ImageLoadError, match="“notes.png” is not an image file"):
        load_image(bad)


def test_missing_file(tmp_path):
    with pytest.raises(ImageLoadError, match="does not exist"):
        load_image(tmp_path / "nope.jpg")


def test_decompression_bomb_refused(tmp_path):
    # a valid PNG header claiming 100000 × 100000 pixels
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    png = b"\x89PNG\r\n\x1a\n" + chunk(
        b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    )
    png += chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")
    path = tmp_path / "bomb.png"
    path.write_bytes(png)
    with pytest.raises(ImageLoadError, match="decompression bomb|more than the 200 MP"):
        load_image(path)


def test_sixteen_bit_greyscale_is_scaled_not_clipped(data_dir, tmp_path):
    grey = np.asarray(Image.open(data_dir / "coffee.png").convert("L")).astype(np.uint16) * 257
    path = tmp_path / "deep.png"
    img16 = Image.fromarray(grey)
    assert img16.mode.startswith("I;16")
    img16.save(path)
    photo = load_image(path)
    assert photo.rgb.shape == (400, 600, 3)
    expected = (grey >> 8).astype(np.uint8)
    assert np.array_equal(photo.rgb[..., 0], expected)
    assert photo.rgb.max() > 200  # not clipped to a white image


def test_cmyk_jpeg_becomes_rgb(data_dir, tmp_path):
    src = Image.open(data_dir / "rocket.jpg").convert("CMYK")
    path = tmp_path / "cmyk.jpg"
    src.save(path, quality=95)
    photo = load_image(path)
    ref = np.asarray(Image.open(data_dir / "rocket.jpg").convert("RGB")).astype(int)
    assert photo.rgb.shape == ref.shape
    assert np.abs(photo.rgb.astype(int) - ref).mean() < 12


def test_palette_with_transparency_keeps_alpha(data_dir, tmp_path):
    img = Image.open(data_dir / "chelsea.png").convert("RGB").quantize(64)
    img.info["transparency"] = 0
    path = tmp_path / "pal.png"
    img.save(path, transparency=0)
    photo = load_image(path)
    assert photo.rgb.shape == (300, 451, 3)
    assert photo.alpha is not None and (photo.alpha == 0).any()
    # transparent pixels are flattened onto white
    assert (photo.rgb[photo.alpha == 0] == 255).all()


def test_exif_rotation_applied(data_dir, tmp_path):
    img = Image.open(data_dir / "rocket.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    path = tmp_path / "rot.jpg"
    img.save(path, exif=exif.tobytes(), quality=95)
    photo = load_image(path)
    assert photo.size == (427, 640)


def test_mask_polarity_threshold_and_size(data_dir, tmp_path):
    m = np.full((300, 451), 255, np.uint8)
    m[100:150, 200:260] = 0
    m[0, 0] = 100  # dark grey counts as black
    path = tmp_path / "mask.png"
    Image.fromarray(m).save(path)
    mask = load_mask(path, (451, 300))
    assert mask.dtype == bool and mask.sum() == 50 * 60 + 1
    inverse = load_mask(path, (451, 300), white_edits=True)
    assert np.array_equal(inverse, ~mask)
    with pytest.raises(MaskError, match="The mask is 451×300 pixels but the photo is 600×400"):
        load_mask(path, (600, 400))
    assert mask_bbox(mask) == (0, 0, 260, 150)
    assert mask_bbox(np.zeros((4, 4), bool)) is None


def test_small_region_is_sent_as_lossless_png(data_dir):
    rgb = load_image(data_dir / "astronaut.png").rgb
    enc = encode_for_upload(rgb)
    assert enc.format == "PNG" and enc.scale == 1.0
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(enc.data)).convert("RGB")), rgb)


def test_photo_over_10mb_is_reencoded_then_downscaled(data_dir):
    # a 40 MB-class photo: the real photo tiled and noised so PNG cannot fit
    base = load_image(data_dir / "rocket.jpg").rgb
    big = np.tile(base, (8, 7, 1))
    rng = np.random.default_rng(0)
    big = np.clip(big.astype(np.int16) + rng.integers(-40, 40, big.shape), 0, 255).astype(np.uint8)
    assert big.nbytes > 3 * UPLOAD_LIMIT
    enc = encode_for_upload(big)
    assert len(enc.data) <= UPLOAD_LIMIT
    assert enc.format == "JPEG"
    decoded = Image.open(io.BytesIO(enc.data))
    assert decoded.size == (enc.width, enc.height)
    # a smaller limit forces a downscale, with the scale recorded
    small = encode_for_upload(big, max_bytes=1_000_000)
    assert len(small.data) <= 1_000_000 and small.scale < 1.0
    assert small.width == round(big.shape[1] * small.scale)


def test_mask_encoding_is_binary_with_provider_polarity():
    m = np.zeros((40, 60), bool)
    m[10:20, 10:30] = True
    png = Image.open(io.BytesIO(encode_mask(m, edit_is_black=True))).convert("L")
    arr = np.asarray(png)
    assert set(np.unique(arr)) == {0, 255}
    assert np.array_equal(arr == 0, m)
    arr2 = np.asarray(Image.open(io.BytesIO(encode_mask(m, edit_is_black=False))).convert("L"))
    assert np.array_equal(arr2 == 255, m)


def test_reference_conversion(data_dir, tmp_path):
    ref = load_reference(data_dir / "rocket.jpg")
    assert ref.format == "JPEG" and ref.data == (data_dir / "rocket.jpg").read_bytes()
    tiff = tmp_path / "ref.tiff"
    Image.open(data_dir / "chelsea.png").save(tiff)
    conv = load_reference(tiff)
    assert conv.format == "PNG" and conv.name == "ref.png"
    bad = tmp_path / "ref.png"
    bad.write_bytes(b"GIF89a nonsense")
    with pytest.raises(ImageLoadError):
        load_reference(bad)


def test_uploads_are_sent_at_the_models_resolution_as_jpeg_q95(data_dir):
    """Issue 13: a 5 % mask on a large photo uploads exactly the size the model answers with
    for that aspect ratio (~1 MP), lossless within 1.5 MB; the offline engine still gets the
    photo's own pixels."""
    from inpaint_studio.core.pipeline.jobs import prepare
    from inpaint_studio.core.pipeline.request import IDEOGRAM_ANSWER_SIZES, EditRequest
    from inpaint_studio.core.pixels.imaging import Photo

    from .conftest import ellipse_mask

    big = np.ascontiguousarray(
        np.tile(load_image(data_dir / "coffee.png").rgb, (6, 6, 1))
    )  # 3600 × 2400
    mask = ellipse_mask(2400, 3600, 1200, 1800, 330, 470)  # ~5 %
    assert 0.04 < mask.mean() < 0.06
    req = EditRequest(prompt="x", photo=Photo(rgb=big), mask=mask)
    p = prepare(req)
    sent = p.encoded.width * p.encoded.height
    assert (p.encoded.width, p.encoded.height) in IDEOGRAM_ANSWER_SIZES and sent <= 1.6e6
    assert (
        p.region.width * p.region.height > 1.2 * sent
    )  # the crop itself is larger: it was scaled down
    assert len(p.encoded.data) <= 1_500_000
    assert p.encoded.format in ("PNG", "WEBP") and p.encoded.quality is None
    assert np.array_equal(
        np.asarray(Image.open(io.BytesIO(p.encoded.data)).convert("RGB")), p.image
    )  # exact
    ratio = (p.encoded.width / p.encoded.height) / (p.region.width / p.region.height)
    assert 0.9 < ratio < 1.12  # the answer size nearest the region's aspect ratio
    local = prepare(req, uploads=False)
    assert local.image.shape[:2] == (
        local.region.height,
        local.region.width,
    )  # full resolution offline


def test_lossless_when_it_fits_the_budget_else_jpeg_q98(data_dir):
    """Lossless (PNG, else lossless WebP) when it fits 1.5 MB, else a q98 JPEG."""
    from pathlib import Path

    from inpaint_studio.core.pixels.imaging import encode_for_upload

    shot = load_image(Path(__file__).resolve().parent.parent / "docs" / "screenshot.png").rgb
    enc = encode_for_upload(
        np.ascontiguousarray(shot[40:800, 830:1280]), prefer_lossy=True
    )  # the docks: flat UI
    assert enc.format == "PNG"
    photo = load_image(data_dir / "coffee.png").rgb
    assert encode_for_upload(photo, prefer_lossy=True).format == "PNG"  # 0.24 MP: fits
    webp = encode_for_upload(
        photo, 400_000, prefer_lossy=True
    )  # its PNG (474 kB) is over this, its WebP under
    assert webp.format == "WEBP" and np.array_equal(
        np.asarray(Image.open(io.BytesIO(webp.data)).convert("RGB")), photo
    )
    small = encode_for_upload(photo, 300_000, prefer_lossy=True)  # neither lossless file fits: JPEG
    assert (small.format, small.quality) == ("JPEG", 98) and len(small.data) <= 300_000
