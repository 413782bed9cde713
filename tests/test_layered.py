"""Layered export (issue 12): a project's original, accepted edits and variants as named layers
in PSD (read back with psd-tools), OpenRaster (read back as the zip its spec describes) and a
flat PNG, through `inpaint-studio project export` as a real subprocess."""

from __future__ import annotations

import io
import json
import zipfile
from xml.etree import ElementTree

import numpy as np
import pytest
import pytest_asyncio
from PIL import Image

from inpaint_studio.core.formats.project_reader import read_project
from inpaint_studio.core.pixels.imaging import load_image

from .test_cli import cli
from .test_session import edited, env, results  # noqa: F401  (env is a fixture)


@pytest_asyncio.fixture
async def project(env, data_dir, tmp_path):  # noqa: F811
    """coffee.png with one accepted edit and three variants (one hidden, one at 70 %)."""
    make, provider = env
    s = await edited(make(), data_dir)
    first = await results(s, provider(), n=1)
    accepted = s.doc.layer(f"j{first.id}-0").name
    assert await s.accept(f"j{first.id}-0")
    job = await results(s, provider(), n=3)
    keys = [f"j{job.id}-{i}" for i in range(3)]
    s.set_visible(keys[0], True)
    s.set_visible(keys[1], False)
    s.set_visible(keys[2], True)
    s.set_opacity(keys[2], 0.7)
    path = await s.save(tmp_path / "coffee.inpaint")
    # the accepted edit's layer keeps the name (prompt, seed, speed) it had as a variant
    return path, s.doc.composite(), [s.doc.layer(k) for k in keys], f"Accepted edit 1 · {accepted}"


@pytest.mark.asyncio
async def test_psd_has_every_layer_named_placed_and_hidden_as_in_the_project(
    project, data_dir, tmp_path
):
    path, composite, variants, accepted = project
    out = tmp_path / "coffee.psd"
    res = cli("project", "export", path, "--out", out, "--json")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert [lay["name"] for lay in summary["layers"]][:2] == ["Original", accepted]
    from psd_tools import PSDImage

    psd = PSDImage.open(out)
    assert psd.size == (600, 400)
    layers = list(psd)
    assert [lay.name for lay in layers] == ["Original", accepted] + [v.name for v in variants]
    original = load_image(data_dir / "coffee.png").rgb
    assert np.array_equal(
        np.asarray(layers[0].topil().convert("RGB")), original
    )  # the photo, exactly
    for lay, v in zip(layers[2:], variants, strict=True):
        assert (lay.left, lay.top) == (v.variant.layer.x0, v.variant.layer.y0)
        assert lay.size == (v.variant.layer.rgb.shape[1], v.variant.layer.rgb.shape[0])
        assert lay.visible == v.visible
        assert abs(lay.opacity - round(255 * v.opacity)) <= 1
        alpha = np.asarray(lay.topil().getchannel("A"))
        assert np.array_equal(alpha, v.variant.layer.alpha)  # the blend's alpha


@pytest.mark.asyncio
async def test_ora_follows_the_spec_and_png_is_the_visible_composite(project, data_dir, tmp_path):
    path, composite, variants, accepted = project
    out = tmp_path / "coffee.ora"
    assert cli("project", "export", path, "--out", out).returncode == 0
    with zipfile.ZipFile(out) as z:
        first = z.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert z.read("mimetype") == b"image/openraster"
        root = ElementTree.fromstring(z.read("stack.xml"))
        assert (root.get("w"), root.get("h")) == ("600", "400")
        entries = list(root.find("stack"))
        assert [e.get("name") for e in entries] == [v.name for v in reversed(variants)] + [
            accepted,
            "Original",
        ]
        bottom = np.asarray(Image.open(io.BytesIO(z.read(entries[-1].get("src")))).convert("RGB"))
        assert np.array_equal(bottom, load_image(data_dir / "coffee.png").rgb)
        for e, v in zip(entries, reversed(variants), strict=False):
            assert (int(e.get("x")), int(e.get("y"))) == (v.variant.layer.x0, v.variant.layer.y0)
            assert e.get("visibility") == ("visible" if v.visible else "hidden")
        merged = np.asarray(Image.open(io.BytesIO(z.read("mergedimage.png"))).convert("RGB"))
        assert np.abs(merged.astype(int) - composite.astype(int)).max() <= 1
        assert max(Image.open(io.BytesIO(z.read("Thumbnails/thumbnail.png"))).size) <= 256
    flat = tmp_path / "coffee-flat.png"
    assert cli("project", "export", path, "--out", flat).returncode == 0
    assert (
        np.abs(
            np.asarray(Image.open(flat).convert("RGB")).astype(int) - composite.astype(int)
        ).max()
        <= 1
    )
    # the same stack, read back from the project in-process, composes to the same picture
    assert read_project(path).variants


def test_export_refuses_unknown_formats_and_missing_folders(tmp_path, data_dir):
    res = cli("project", "export", tmp_path / "none.inpaint", "--out", tmp_path / "x.tiff")
    assert res.returncode == 2 and "X.psd, X.ora or X.png" in res.stderr
    res = cli(
        "project", "export", tmp_path / "none.inpaint", "--out", tmp_path / "missing" / "x.psd"
    )
    assert res.returncode == 2 and "does not exist" in res.stderr
    res = cli("project", "export", data_dir / "coffee.png", "--out", tmp_path / "x.psd")
    assert res.returncode == 2 and "inpaint-studio:" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.asyncio
async def test_edit_with_project_opens_in_the_editor_and_exports(env, data_dir, tmp_path):  # noqa: F811
    """`edit … --project OUT.inpaint` saves the photo, mask and variants as layers."""
    from inpaint_studio.core.pixels.imaging import load_mask

    from .conftest import ellipse_mask

    photo = tmp_path / "rocket.jpg"
    photo.write_bytes((data_dir / "rocket.jpg").read_bytes())
    mask = np.full((427, 640), 255, np.uint8)
    mask[ellipse_mask(427, 640, 200, 320, 40, 30)] = 0
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "out"
    res = cli(
        "edit",
        photo,
        "--mask",
        tmp_path / "mask.png",
        "--provider",
        "local",
        "--out",
        out,
        "--project",
        tmp_path / "rocket",
        "--json",
    )
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    project = tmp_path / "rocket.inpaint"
    assert report["project"] == str(project) and project.exists()
    make, _ = env
    s = make("cli")
    await s.open(project)
    assert s.doc.photo.source == photo.read_bytes()  # the original's bytes, unchanged
    assert np.array_equal(s.doc.mask, load_mask(tmp_path / "mask.png", (640, 427)))
    assert len(s.doc.layers) == 1 and s.doc.layers[0].visible and s.doc.jobs
    written = np.asarray(Image.open(report["variants"][0]["path"]).convert("RGB"))
    assert np.array_equal(s.doc.composite(), written)  # the editor shows what the CLI wrote
    assert cli("project", "export", project, "--out", tmp_path / "rocket.ora").returncode == 0
