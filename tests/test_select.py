"""Select subject (issue 12): GrabCut on a downscaled copy, the edge refined at full
resolution, include/exclude strokes; the `select` command as a real subprocess."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inpaint_studio.core.errors import MaskError
from inpaint_studio.core.pixels.imaging import load_image, load_mask
from inpaint_studio.core.pixels.select import select_subject

from .conftest import ellipse_mask
from .test_cli import cli


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return (a & b).sum() / (a | b).sum()


@pytest.fixture
def known(data_dir):
    """A real object with a known outline: the astronaut cut out as an ellipse and pasted on
    the coffee photo."""
    bg = load_image(data_dir / "coffee.png").rgb.copy()
    obj = load_image(data_dir / "astronaut.png").rgb
    truth = ellipse_mask(400, 600, 200, 300, 110, 80)
    ys, xs = np.nonzero(truth)
    bg[ys, xs] = obj[ys - 200 + 256, xs - 300 + 256]
    return bg, truth, (210, 80, 390, 320)


def test_selects_the_object_in_the_box(known):
    rgb, truth, box = known
    sel = select_subject(rgb, box)
    assert iou(sel, truth) > 0.9
    assert not sel[:, : box[0]].any() and not sel[: box[1]].any()  # nothing outside the box
    # the edge is refined at full resolution: a small working copy gives nearly the same
    coarse = select_subject(rgb, box, work_pixels=20_000)
    assert iou(coarse, truth) > 0.85


def test_include_and_exclude_strokes_are_honoured(known):
    rgb, truth, box = known
    exclude = np.zeros_like(truth)
    exclude[190:210, 280:320] = True  # a band across the object's middle
    include = np.zeros_like(truth)
    include[330:340, 100:110] = True  # a spot outside the box
    sel = select_subject(rgb, box, include=include, exclude=exclude)
    assert not sel[exclude].any() and sel[include].all()
    assert iou(sel & ~exclude, truth & ~exclude) > 0.85


def test_refuses_boxes_it_cannot_use(known):
    rgb, _, _ = known
    with pytest.raises(MaskError, match="larger rectangle"):
        select_subject(rgb, (10, 10, 12, 40))
    with pytest.raises(MaskError, match="background outside"):
        select_subject(rgb, (0, 0, 600, 400))


def test_select_command_writes_a_black_on_white_mask(known, tmp_path):
    rgb, truth, box = known
    Image.fromarray(rgb).save(tmp_path / "photo.png")
    out = tmp_path / "subject.png"
    res = cli("select", tmp_path / "photo.png", "--box", ",".join(map(str, box)), "--out", out)
    assert res.returncode == 0, res.stderr
    img = np.asarray(Image.open(out).convert("L"))
    assert img.shape == (400, 600) and set(np.unique(img)) == {0, 255}
    assert (
        iou(load_mask(out, (600, 400)), truth) > 0.9
    )  # black = the subject, read as the edit mask
    bad = cli("select", tmp_path / "photo.png", "--box", "5,5,1,1", "--out", out)
    assert bad.returncode == 2 and "X1 > X0" in bad.stderr
    outside = cli("select", tmp_path / "photo.png", "--box", "700,500,800,600", "--out", out)
    assert outside.returncode == 2 and "outside" in outside.stderr
