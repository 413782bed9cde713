"""Issue 20: nothing private leaves the machine by default — files meant to be shared name
the source by its file name only, never the result journal or a folder; the prompt and
parameters only while "Embed edit details" is on (``--no-embed``); GPS only until
"Remove location"."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_studio.core.document.session import EditSession
from inpaint_studio.core.formats.output import encode_export
from inpaint_studio.core.pixels.imaging import load_image

from .test_cli import cli
from .test_cli import photo_and_mask as photo_and_mask  # noqa: F401 (the fixture)


def embedded(png: Path) -> str:
    """Everything a PNG and its sidecar say, as text."""
    im = Image.open(png)
    return json.dumps(dict(im.text)) + png.with_suffix(".json").read_text("utf-8")


def test_edit_outputs_name_files_only_and_no_embed_drops_the_prompt(photo_and_mask, tmp_path):
    photo, mask = photo_and_mask
    home = str(tmp_path)
    env = {"INPAINT_STUDIO_CONFIG_DIR": str(tmp_path / "cfg")}
    args = ("edit", photo, "--mask", mask, "--provider", "local", "--prompt", "a red kite")
    res = cli(*args, "--out", tmp_path / "shared", env=env)
    assert res.returncode == 0, res.stderr
    (png,) = sorted((tmp_path / "shared").glob("*-edit-*.png"))
    text = embedded(png)
    assert "a red kite" in text and photo.name in text
    assert home not in text and "journal" not in text  # no folder, no journal path
    res = cli(*args, "--out", tmp_path / "bare", "--no-embed", env=env)
    assert res.returncode == 0, res.stderr
    (png,) = sorted((tmp_path / "bare").glob("*-edit-*.png"))
    text = json.dumps(dict(Image.open(png).text))
    assert "a red kite" not in text and home not in text and "Inpaint Studio" in text
    sidecar = png.with_suffix(".json").read_text("utf-8")  # the local companion keeps them
    assert "a red kite" in sidecar and home not in sidecar


def gps_photo(data_dir, tmp_path) -> Path:
    img = Image.open(data_dir / "rocket.jpg").convert("RGB")
    exif = Image.Exif()
    exif[0x013B] = "Anna Photographer"  # Artist
    exif.get_ifd(0x8825)[2] = (52.0, 31.0, 12.0)  # GPSLatitude
    path = tmp_path / "trip.jpg"
    img.save(path, "JPEG", exif=exif.tobytes())
    return path


@pytest.mark.asyncio
async def test_editor_exports_keep_gps_unless_removed_and_never_a_folder(data_dir, tmp_path):
    s = EditSession(session_id="privacy")
    await s.open(gps_photo(data_dir, tmp_path))
    meta = s.doc.export_metadata()
    assert meta["source"] == "trip.jpg" and str(tmp_path) not in json.dumps(meta)
    assert s.doc.export_metadata(details=False) == {"app": "Inpaint Studio"}
    photo = load_image(tmp_path / "trip.jpg")
    kept = Image.open(io.BytesIO(encode_export(photo.rgb, photo, ".jpg", meta))).getexif()
    assert kept.get_ifd(0x8825) and kept.get(0x013B) == "Anna Photographer"
    data = encode_export(photo.rgb, photo, ".jpg", meta, remove_location=True)
    gone = Image.open(io.BytesIO(data)).getexif()
    assert not gone.get_ifd(0x8825) and gone.get(0x013B) == "Anna Photographer"
    assert np.asarray(Image.open(io.BytesIO(data))).shape == photo.rgb.shape
    await s.aclose(keep_recovery=False)
