"""Export keeps the photo's metadata: EXIF (orientation normalised), ICC profile, DPI, the
source's format, normal file permissions, and the edit's parameters embedded."""

from __future__ import annotations

import io
import json
import os
import stat

import numpy as np
import pytest
from PIL import Image, ImageCms

from inpaint_studio.core.atomic import atomic_write
from inpaint_studio.core.formats.output import encode_export, export_suffix
from inpaint_studio.core.pixels.imaging import load_image


@pytest.fixture
def camera_jpeg(data_dir, tmp_path):
    """rocket.jpg as a camera would store it turned sideways: pixels rotated, EXIF
    Orientation 6 (rotate 90° clockwise to view), a maker, a date, sRGB and 300 dpi."""
    img = Image.open(data_dir / "rocket.jpg").convert("RGB").transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Sony"
    exif[0x0110] = "DSC-RX100M4"
    exif.get_ifd(0x8769)[0x9003] = "2026:11:23 08:00:00"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = tmp_path / "camera.jpg"
    img.save(path, "JPEG", quality=92, exif=exif.tobytes(), icc_profile=icc, dpi=(300, 300))
    return path, icc


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp"])
def test_export_keeps_exif_icc_dpi_and_parameters(camera_jpeg, data_dir, tmp_path, suffix):
    path, icc = camera_jpeg
    photo = load_image(path)
    upright = np.asarray(Image.open(data_dir / "rocket.jpg").convert("RGB"))
    assert photo.rgb.shape == upright.shape  # orientation applied on load
    assert photo.dpi == (300, 300)
    out = tmp_path / f"out{suffix}"
    edited = photo.rgb.copy()
    edited[10:50, 10:50] = (200, 30, 30)
    atomic_write(
        out,
        encode_export(edited, photo, suffix, {"layers": [{"prompt": "a red square", "seed": 7}]}),
    )

    back = Image.open(out)
    exif = back.getexif()
    assert exif.get(0x0112, 1) == 1  # pixels are upright: viewers must not rotate again
    assert exif.get(0x010F) == "Sony" and exif.get(0x0110) == "DSC-RX100M4"
    assert exif.get_ifd(0x8769).get(0x9003) == "2026:11:23 08:00:00"
    assert back.info.get("icc_profile") == icc
    if suffix != ".webp":  # WebP has no DPI field: the EXIF resolution carries it
        assert tuple(round(float(d)) for d in back.info["dpi"]) == (300, 300)
    assert (float(exif[0x011A]), float(exif[0x011B]), exif[0x0128]) == (300.0, 300.0, 2)
    assert back.size == (upright.shape[1], upright.shape[0])
    if suffix == ".png":
        meta = json.loads(back.info["inpaint-studio"])
    elif suffix == ".jpg":
        meta = json.loads(back.info["comment"])
    else:
        comment = exif.get_ifd(0x8769)[0x9286]
        assert comment.startswith(b"ASCII\0\0\0")  # no byte order to get wrong
        meta = json.loads(comment[8:].decode("ascii"))
    assert meta["layers"][0]["prompt"] == "a red square"
    if suffix == ".png":
        assert np.array_equal(np.asarray(back.convert("RGB")), edited)


def test_export_defaults_to_the_source_format(camera_jpeg, data_dir):
    assert export_suffix(load_image(camera_jpeg[0])) == ".jpg"
    assert export_suffix(load_image(data_dir / "coffee.png")) == ".png"
    rgba = io.BytesIO()
    Image.open(data_dir / "chelsea.png").convert("RGBA").save(rgba, "PNG")
    assert export_suffix(load_image(rgba.getvalue())) == ".png"


def test_jpeg_export_is_high_quality(camera_jpeg, tmp_path):
    photo = load_image(camera_jpeg[0])
    data = encode_export(photo.rgb, photo, ".jpg")
    back = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
    assert np.abs(back - photo.rgb.astype(int)).mean() < 1.5  # q95, no chroma subsampling
    with pytest.raises(ValueError, match="exports PNG"):
        encode_export(photo.rgb, photo, ".gif")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_written_files_get_the_users_normal_permissions(tmp_path):
    old = os.umask(0o022)
    os.umask(old)
    out = tmp_path / "x.png"
    atomic_write(out, b"data")
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~old  # 0644 with the usual umask, never 0600


def test_a_lossless_webp_is_exported_lossless(data_dir, tmp_path):
    """Issue 20: a lossless WebP photo stayed lossless only until it was exported (q95: up to
    52 levels off outside the mask)."""
    from inpaint_studio.core.formats.output import webp_is_lossless

    src = tmp_path / "photo.webp"
    Image.open(data_dir / "coffee.png").convert("RGB").save(src, "WEBP", lossless=True)
    photo = load_image(src, keep_source=True)
    assert webp_is_lossless(photo.source)
    edited = photo.rgb.copy()
    edited[100:140, 200:260] = (20, 200, 40)
    data = encode_export(edited, photo, ".webp")
    assert webp_is_lossless(data)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), edited)
    lossy = tmp_path / "lossy.webp"
    Image.open(data_dir / "coffee.png").convert("RGB").save(lossy, "WEBP", quality=80)
    assert not webp_is_lossless(lossy.read_bytes()) and not webp_is_lossless(b"RIFF")
