"""`inpaint-studio batch` (issue 13) against a loopback Ideogram server that enforces the
images-in-flight limit: concurrent jobs under the limit, a 429 inflight_limit shrinks the
window without reaching the user, re-runs skip what is done, failures get one line each."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from .conftest import ellipse_mask
from .test_cli import cli


@pytest.fixture
def photos(data_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    paths = []
    for i in range(6):
        p = folder / f"rocket{i}.jpg"
        p.write_bytes((data_dir / "rocket.jpg").read_bytes())
        paths.append(p)
    mask = np.full((427, 640), 255, np.uint8)
    mask[ellipse_mask(427, 640, 200, 320, 40, 30)] = 0
    Image.fromarray(mask).save(tmp_path / "mask.png")
    return paths, tmp_path / "mask.png"


def run(server, *args):
    env = {"IDEOGRAM_API_KEY": server.api_key, "IDEOGRAM_BASE_URL": server.base_url}
    return cli(
        "batch",
        *args,
        "--provider",
        "ideogram",
        "--prompt",
        "a moon",
        "--num-images",
        "2",
        "--json",
        env=env,
    )


def test_batch_runs_concurrently_under_the_limit_and_reruns_skip(server, photos, tmp_path):
    paths, mask = photos
    server.inflight_limit = 10  # Ideogram's default: 5 two-image requests at once
    server.answer_delay = 0.6
    out = tmp_path / "out"
    res = run(server, *paths, "--mask", mask, "--out", out)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert [p["status"] for p in report["photos"]] == ["done"] * 6
    assert all(len(p["outputs"]) == 2 for p in report["photos"])
    # concurrent up to the limit, never over it (speed: benchmarks/bench_batch.py)
    assert server.refused_inflight == 0 and server.max_inflight == 10
    # a re-run sends nothing and reports the earlier outputs
    before = len(server.edit_requests)
    again = json.loads(run(server, *paths, "--mask", mask, "--out", out).stdout)
    assert [p["status"] for p in again["photos"]] == ["skipped"] * 6 and len(
        server.edit_requests
    ) == before


def test_inflight_429_shrinks_the_window_and_never_reaches_the_user(server, photos, tmp_path):
    paths, mask = photos
    server.inflight_limit = 4  # an organisation with a lower limit than the provider's default
    server.answer_delay = 0.3
    res = run(server, *paths, "--mask", mask, "--out", tmp_path / "out")
    assert res.returncode == 0, res.stderr
    assert [p["status"] for p in json.loads(res.stdout)["photos"]] == ["done"] * 6
    assert server.refused_inflight >= 1 and server.max_inflight <= 4


def test_a_missing_mask_is_one_line_and_the_rest_is_done(server, photos, tmp_path):
    paths, mask = photos
    masks = tmp_path / "masks"
    masks.mkdir()
    for p in paths[1:]:
        (masks / f"{p.stem}.png").write_bytes(mask.read_bytes())
    res = run(server, *paths, "--masks", masks, "--out", tmp_path / "out")
    assert res.returncode == 2
    report = json.loads(res.stdout)
    assert [p["status"] for p in report["photos"]] == ["failed"] + ["done"] * 5
    assert res.stderr.strip().splitlines() == [
        f"inpaint-studio: rocket0.jpg: no mask named rocket0.png in {masks}"
    ]
