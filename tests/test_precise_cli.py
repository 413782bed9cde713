"""Ideogram 4.5 Precise Edit and prices from the command line, as real subprocesses against
the loopback v2 server: the model and quality flags, ``--quote``, the cost in ``--json``, the
generation id kept and named before any wait, and SIGKILL then ``resume``."""

from __future__ import annotations

import json
import signal
import time

import numpy as np
import pytest
from PIL import Image

from .test_cli import cli
from .test_nothing_lost import SECRET, edit, start_edit

MODEL = ("--model", "ideogram-4.5")
KEY = {"IDEOGRAM_API_KEY": SECRET}


def test_edit_with_4_5_quality_and_references_reports_its_exact_cost(
    photo_and_mask, ideogram, data_dir
):
    photo, mask = photo_and_mask
    res = edit(
        photo, mask, ideogram, *MODEL, "--quality", "low", "--num-images", "2",
        "--reference", data_dir / "chelsea.png", "--json",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    cost = out["cost"]  # the generation's own usage cost
    assert (cost["usd"], cost["exact"]) == (0.06, True)
    sent = ideogram.edit_requests[0]
    assert sent.path == "/v2/image/precise-edit/ideogram-4-5" and sent.value("quality") == "low"
    assert [p.filename for p in sent.get("reference_images")] == ["chelsea.png"]
    ident = next(iter(ideogram.generations))
    assert f"generation {ident} started" in res.stderr  # named before the wait
    assert f"inpaint-studio resume {ident} --provider ideogram" in res.stderr
    # the results arrived: nothing is left unfinished
    assert "No unfinished paid work" in cli("resume").stdout


def test_quote_prints_the_price_and_sends_nothing_billable(photo_and_mask, ideogram):
    photo, mask = photo_and_mask
    res = edit(photo, mask, ideogram, *MODEL, "--num-images", "4", "--quote")
    assert res.returncode == 0, res.stderr
    assert "$0.24 · 4 × medium" in res.stdout and "dry_run" in res.stdout
    assert ideogram.dry_runs == 1 and ideogram.generations == {}
    res = edit(
        photo, mask, ideogram, "--speed", "QUALITY", "--num-images", "2", "--quote", "--json"
    )
    cost = json.loads(res.stdout)["cost"]
    assert cost["usd"] == pytest.approx(0.18) and cost["exact"] is False
    assert len(ideogram.edit_requests) == 1  # Ideogram 3.0's price comes from its table
    res = edit(photo, mask, ideogram, "--quote", provider="magnific", key_env="MAGNIFIC_API_KEY")
    assert res.returncode == 0 and "price unknown" in res.stdout


def test_what_4_5_does_not_take_is_refused_before_sending(photo_and_mask, ideogram):
    photo, mask = photo_and_mask
    res = edit(photo, mask, ideogram, *MODEL, "--speed", "TURBO")
    assert res.returncode == 2 and "choose a quality" in res.stderr
    res = edit(photo, mask, ideogram, "--quality", "high")  # 3.0 has speeds, not qualities
    assert res.returncode == 2 and "quality" in res.stderr
    res = edit(photo, mask, ideogram, "--model", "ideogram-2")
    assert res.returncode == 2 and "not offered by ideogram" in res.stderr
    assert ideogram.requests == []


def test_batch_prints_the_total_before_it_starts(photo_and_mask, ideogram, tmp_path):
    photo, mask = photo_and_mask
    second = tmp_path / "second.jpg"
    second.write_bytes(photo.read_bytes())
    res = cli(
        "batch", photo, second, "--mask", mask, "--provider", "ideogram", *MODEL,
        "--base-url", ideogram.base_url, "--prompt", "a cup", "--quality", "high", "--quote",
        env=KEY,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "$0.44 · 2 photos × 1 × high" in res.stdout
    assert ideogram.dry_runs == 2 and ideogram.generations == {}


def test_sigkill_while_waiting_then_resume_lists_and_composites_it(photo_and_mask, ideogram):
    photo, mask = photo_and_mask
    ideogram.pending_polls = 10**9  # the generation runs on after the command dies
    proc = start_edit(photo, mask, ideogram, *MODEL)
    deadline = time.monotonic() + 60
    err = ""
    while "started" not in err and time.monotonic() < deadline:
        err += proc.stderr.readline()
    assert ideogram.generations, err
    ident = next(iter(ideogram.generations))
    assert f"generation {ident} started" in err
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    listed = cli("resume")
    assert listed.returncode == 0
    assert f"inpaint-studio resume {ident} --provider ideogram --base-url {ideogram.base_url}" in (
        listed.stdout
    )
    as_json = json.loads(cli("resume", "--json").stdout)
    assert [t["task_id"] for t in as_json] == [ident]
    # still running: one sentence, exit 1, and it stays listed
    res = cli("resume", ident, "--provider", "ideogram", "--base-url", ideogram.base_url, env=KEY)
    assert res.returncode == 1 and "try again later" in res.stderr
    ideogram.pending_polls = 0
    out = photo.parent / "resumed"
    res = cli(
        "resume", ident, "--out", out, "--json", env=KEY
    )  # provider and server from the record
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    assert got["composited"] is True and len(got["paths"]) == 1
    result = np.asarray(Image.open(got["paths"][0]).convert("RGB"))
    original = np.asarray(Image.open(photo).convert("RGB"))
    keep = np.asarray(Image.open(mask).convert("L")) == 255
    assert result.shape == original.shape
    assert np.array_equal(result[keep], original[keep])  # composited onto the photo
    assert not np.array_equal(result[~keep], original[~keep])
    assert "No unfinished paid work" in cli("resume").stdout
