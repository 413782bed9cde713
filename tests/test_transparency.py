"""A photo with partial transparency comes back bit-identical outside the mask in every
output (issue 20): the editor and the models see it flattened on white, but the files carry
the photo's own straight colour and alpha, never the white it was edited on."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from inpaint_studio.core.document.expand import expand_photo
from inpaint_studio.core.formats.output import encode_export
from inpaint_studio.core.pixels.imaging import load_image

from .conftest import ellipse_mask
from .test_cli import cli


@pytest.fixture
def rgba_photo(data_dir, tmp_path):
    """The coffee photo with a soft vignette of transparency (alpha 0–255 across the frame)
    and a mask over the cup's rim, as files."""
    rgb = np.asarray(Image.open(data_dir / "coffee.png").convert("RGB"))
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    d = np.hypot((yy - h / 2) / (h / 2), (xx - w / 2) / (w / 2))
    alpha = np.clip(255 * (1.3 - d), 0, 255).astype(np.uint8)
    path = tmp_path / "cup.png"
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(path)
    mask = np.full((h, w), 255, np.uint8)
    edit = ellipse_mask(h, w, 280, 375, 45, 40)
    mask[edit] = 0
    Image.fromarray(mask).save(tmp_path / "mask.png")
    return path, tmp_path / "mask.png", np.dstack([rgb, alpha]), edit


def rgba_of(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


def test_edit_and_layered_exports_keep_the_straight_colour(rgba_photo, tmp_path):
    path, mask, source, edit = rgba_photo
    assert 0 < source[..., 3].min() < 255 or (source[..., 3] < 255).any()
    out = tmp_path / "out"
    project = tmp_path / "cup.inpaint"
    res = cli(
        "edit", path, "--mask", mask, "--provider", "local", "--out", out,
        "--project", project, "--json",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    (written,) = out.glob("cup-edit-*.png")
    result = rgba_of(written.read_bytes())
    assert np.array_equal(result[~edit], source[~edit])  # no white fringe: bit-identical
    assert np.array_equal(result[..., 3], source[..., 3])
    for suffix in (".ora", ".psd", ".png"):
        target = tmp_path / f"layers{suffix}"
        res = cli("project", "export", project, "--out", target)
        assert res.returncode == 0, res.stderr
        if suffix == ".ora":
            with zipfile.ZipFile(target) as z:
                names = [n for n in z.namelist() if n.startswith("data/")]
                original = rgba_of(z.read(sorted(names)[0]))
            assert np.array_equal(original, source)
        elif suffix == ".psd":
            from psd_tools import PSDImage

            # (Pillow's PSD reader skips a byte after odd-sized RLE channels, which the
            # format does not have: it cannot read layer pixels of this or many files)
            original = PSDImage.open(target)[0].numpy()
            assert np.array_equal(np.round(original * 255).astype(np.uint8), source)
        else:
            flat = rgba_of(target.read_bytes())
            assert np.array_equal(flat[~edit], source[~edit])


def test_composite_exports_and_expand_keep_it_too(rgba_photo):
    path, _, source, edit = rgba_photo
    photo = load_image(path, keep_source=True)
    assert photo.straight is not None and not np.array_equal(photo.rgb, source[..., :3])
    composite = np.array(photo.rgb)
    composite[edit] = (10, 200, 30)
    for suffix in (".png", ".webp"):
        out = rgba_of(encode_export(composite, photo, suffix))
        if suffix == ".png":
            assert np.array_equal(out[~edit], source[~edit])
            assert (out[edit][:, :3] == (10, 200, 30)).all()
        else:  # lossy WebP: close, and not lightened towards white
            diff = out[~edit].astype(int) - source[~edit].astype(int)
            assert abs(diff[:, :3].mean()) < 1.0
    expanded, _ = expand_photo(photo, (20, 10, 20, 10))
    again = load_image(expanded.source)
    inner = rgba_of(expanded.source)[10:-10, 20:-20]
    assert np.array_equal(inner, source) and again.straight is not None
