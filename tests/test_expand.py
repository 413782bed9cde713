"""Expand (outpainting, issue 12): the padded photo keeps the original bit-identical at its
offset, the margin is the mask, results are variants like any other (undoable, projects), the
upload is only what the model needs, and `inpaint-studio expand` as a real subprocess."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from inpaint_studio.core.document.expand import (
    expand_photo,
    pad_by_fraction,
    pad_for_aspect,
    parse_aspect,
    parse_pad,
)
from inpaint_studio.core.errors import InvalidInput
from inpaint_studio.core.pixels.imaging import load_image

from .test_cli import cli
from .test_session import env, results  # noqa: F401  (env is a fixture)


def test_pads_for_presets_and_parsing():
    assert pad_for_aspect((640, 427), (16, 9)) == (59, 0, 60, 0)
    assert pad_for_aspect((640, 427), (1, 1)) == (0, 106, 0, 107)
    assert pad_for_aspect((1600, 900), (16, 9)) == (0, 0, 0, 0)
    assert pad_by_fraction((600, 400), 0.25) == (150, 100, 150, 100)
    assert parse_pad("0,0,512,0") == (0, 0, 512, 0) and parse_aspect("16:9") == (16, 9)
    for bad in ("1,2,3", "a,b,c,d", "0,0,0,0", "-1,0,0,0"):
        with pytest.raises(InvalidInput, match="pad"):
            parse_pad(bad)
    with pytest.raises(InvalidInput, match="W:H"):
        parse_aspect("wide")


def test_expanded_photo_keeps_the_original_exactly_and_masks_the_margin(data_dir):
    photo = load_image(data_dir / "rocket.jpg")
    big, mask = expand_photo(photo, (59, 10, 60, 20))
    assert big.size == (640 + 119, 427 + 30) and mask.shape == (457, 759)
    assert np.array_equal(big.rgb[10:437, 59:699], photo.rgb)  # bit-identical at its offset
    assert (
        not mask[10:437, 59:699].any()
        and mask[:10].all()
        and mask[:, :59].all()
        and mask[437:].all()
    )
    # the margin continues the photo (edge extended, blurred), not a flat fill
    assert np.abs(big.rgb[5, 300].astype(int) - photo.rgb[0, 241].astype(int)).max() < 60
    assert big.icc_profile == photo.icc_profile and load_image(big.source).size == big.size


@pytest.mark.asyncio
async def test_expand_in_the_session_generate_undo_and_save(env, data_dir, tmp_path):  # noqa: F811
    make, provider = env
    s = make()
    await s.open(data_dir / "coffee.png")
    original = s.doc.photo.rgb.copy()
    assert await s.expand((0, 0, 200, 0))
    assert (
        s.doc.photo.size == (800, 400)
        and s.doc.mask[:, 600:].all()
        and not s.doc.mask[:, :600].any()
    )
    job = await results(s, provider(), n=2)
    assert job.request.photo.size == (800, 400)
    out = s.doc.composite()
    assert np.array_equal(out[:, :600], original)  # the original's pixels, exactly
    assert not np.array_equal(out[:, 650:], s.doc.photo.rgb[:, 650:])  # the margin is generated
    # results are variants like any other: saved in the project, reopened
    path = await s.save(tmp_path / "wide.inpaint")
    other = make("b")
    await other.open(path)
    assert other.doc.photo.size == (800, 400) and len(other.doc.layers) == 2
    assert np.array_equal(other.doc.composite(), out)
    # expanding again is refused while variants are layers; undo goes back to the old size
    assert not await s.expand((10, 10, 10, 10))
    s.undo.undo()  # back to before the expansion: its variants are set aside with it
    assert (
        s.doc.photo.size == (600, 400)
        and np.array_equal(s.doc.photo.rgb, original)
        and s.doc.layers == []
    )
    assert np.array_equal(s.doc.composite(), original)
    s.undo.redo()
    assert (
        s.doc.photo.size == (800, 400)
        and len(s.doc.layers) == 2
        and np.array_equal(s.doc.composite(), out)
    )


@pytest.mark.asyncio
async def test_only_what_the_model_needs_is_sent_for_a_large_canvas(env, data_dir):  # noqa: F811
    """A one-sided margin on a large photo sends the strip around it, not the whole canvas."""
    make, provider = env
    s = make()
    big = np.tile(load_image(data_dir / "coffee.png").rgb, (4, 4, 1))  # 2400 × 1600
    from inpaint_studio.core.formats.output import encode_png

    await s.open(None, encode_png(big))
    assert await s.expand((0, 0, 600, 0))
    job = await results(s, provider(), n=1)
    region = job.prepared.region
    assert region.x0 > 0 and region.x1 == 3000  # a crop at the new margin's side
    assert np.array_equal(s.doc.composite()[:, :2400], big)


def test_expand_command(data_dir, tmp_path):
    photo = tmp_path / "rocket.jpg"
    photo.write_bytes((data_dir / "rocket.jpg").read_bytes())
    res = cli(
        "expand",
        photo,
        "--aspect",
        "16:9",
        "--provider",
        "local",
        "--out",
        tmp_path / "out",
        "--json",
        "--project",
        tmp_path / "wide.inpaint",
    )
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["original"] == {"x": 59, "y": 0, "width": 640, "height": 427}
    out = np.asarray(Image.open(report["variants"][0]["path"]).convert("RGB"))
    assert out.shape == (427, 759, 3)
    assert np.array_equal(
        out[:, 59:699], load_image(photo).rgb
    )  # the original, exactly, at its offset
    assert (tmp_path / "wide.inpaint").exists()
    bad = cli("expand", photo, "--pad", "1,2,3", "--provider", "local")
    assert bad.returncode == 2 and "--pad takes four pixel counts" in bad.stderr
    same = cli("expand", photo, "--aspect", "640:427", "--provider", "local")
    assert same.returncode == 2 and "nothing to expand" in same.stderr
