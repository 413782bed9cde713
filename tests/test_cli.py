"""`inpaint-studio edit` end to end, as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_studio.core.formats.output import PNG_TEXT_KEY
from inpaint_studio.core.pixels.imaging import load_image

from .conftest import ellipse_mask

ROOT = Path(__file__).resolve().parent.parent


def cli(*args, env=None, cwd=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "inpaint_studio", *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def photo_and_mask(data_dir, tmp_path):
    photo = tmp_path / "rocket.jpg"
    photo.write_bytes((data_dir / "rocket.jpg").read_bytes())
    mask = np.full((427, 640), 255, np.uint8)
    mask[ellipse_mask(427, 640, 200, 320, 40, 30)] = 0
    Image.fromarray(mask).save(tmp_path / "mask.png")
    return photo, tmp_path / "mask.png"


def test_offline_edit_of_the_bundled_sample(tmp_path):
    out = tmp_path / "out"
    res = cli(
        "edit",
        ROOT / "resources/sample/coffee.png",
        "--mask",
        ROOT / "resources/sample/coffee-mask.png",
        "--provider",
        "local",
        "--out",
        out,
        "--seed",
        "7",
        "--json",
        "--raw",
    )
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["provider"] == "local" and len(report["variants"]) == 1
    path = Path(report["variants"][0]["path"])
    assert path == out / "coffee-edit-1.png" and report["variants"][0]["seed"] == 7
    original = load_image(ROOT / "resources/sample/coffee.png").rgb
    mask = np.asarray(Image.open(ROOT / "resources/sample/coffee-mask.png").convert("L")) < 128
    result = np.asarray(Image.open(path).convert("RGB"))
    assert result.shape == original.shape
    assert np.array_equal(result[~mask], original[~mask])
    # the spoon's bright metal is gone: the fill takes its colour from the saucer and table
    assert result[mask].mean() < original[mask].mean() - 10
    meta = json.loads(Image.open(path).text[PNG_TEXT_KEY])
    assert meta["provider"] == "local" and meta["seed"] == 7 and meta["parameters"]["feather"] == 4
    assert json.loads((out / "coffee-edit-1.json").read_text())["seed"] == 7
    assert (out / "coffee-edit-1-raw.png").exists()


def test_second_run_never_overwrites(photo_and_mask, tmp_path):
    photo, mask = photo_and_mask
    for _ in range(2):
        res = cli("edit", photo, "--mask", mask, "--provider", "local", "--prompt", "remove it")
        assert res.returncode == 0, res.stderr
    assert "ignores the prompt" in res.stderr
    assert (tmp_path / "rocket-edit-1.png").exists() and (tmp_path / "rocket-edit-2.png").exists()


def test_invalid_input_exit_2(photo_and_mask, tmp_path, data_dir):
    photo, mask = photo_and_mask
    wrong = tmp_path / "wrong.png"
    Image.new("L", (100, 100), 0).save(wrong)
    res = cli("edit", photo, "--mask", wrong, "--provider", "local")
    assert res.returncode == 2
    assert (
        res.stderr.strip()
        == "inpaint-studio: The mask wrong.png is 100×100 pixels but the photo rocket.jpg is 640×427; they must be the same size."
    )
    empty = tmp_path / "empty.png"
    Image.new("L", (640, 427), 255).save(empty)
    res = cli("edit", photo, "--mask", empty, "--provider", "local")
    assert res.returncode == 2 and "mask is empty" in res.stderr
    notimg = tmp_path / "fake.png"
    notimg.write_text("hello")
    res = cli("edit", notimg, "--mask", mask, "--provider", "local")
    assert res.returncode == 2 and "is not an image file" in res.stderr
    res = cli(
        "edit",
        photo,
        "--mask",
        mask,
        "--provider",
        "ideogram",
        "--base-url",
        "http://127.0.0.1:9",
        "--prompt",
        "x",
        "--speed",
        "FLASH",
        "--character-ref",
        data_dir / "astronaut.png",
        env={"IDEOGRAM_API_KEY": "k"},
    )
    assert res.returncode == 2 and "FLASH" in res.stderr
    res = cli(
        "edit",
        photo,
        "--mask",
        mask,
        "--provider",
        "ideogram",
        "--prompt",
        "x",
        "--style-preset",
        "nope",
        env={"IDEOGRAM_API_KEY": "k"},
    )
    assert res.returncode == 2 and "not an Ideogram 3.0 style preset" in res.stderr
    res = cli("edit", photo, "--mask", mask, "--speed", "WARP")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    for r in (res,):
        assert "Traceback" not in r.stderr


def test_ideogram_end_to_end(server, photo_and_mask, tmp_path):
    photo, mask = photo_and_mask
    out = tmp_path / "ideo"
    env = {"IDEOGRAM_API_KEY": server.api_key, "IDEOGRAM_BASE_URL": server.base_url}
    res = cli(
        "edit",
        photo,
        "--mask",
        mask,
        "--provider",
        "ideogram",
        "--prompt",
        "a moon",
        "--num-images",
        "2",
        "--seed",
        "11",
        "--speed",
        "TURBO",
        "--style-code",
        "0A1B2C3D",
        "--palette-color",
        "#112233:0.7",
        "--out",
        out,
        "--json",
        env=env,
    )
    assert res.returncode == 0, res.stderr
    assert server.api_key not in res.stdout + res.stderr
    report = json.loads(res.stdout)
    assert [v["seed"] for v in report["variants"]] == [11, 12]
    assert (report["sent"]["image"]["format"], report["sent"]["image"]["quality"]) == (
        "PNG",
        None,
    )  # fits 1.5 MB
    original = load_image(photo).rgb
    m = np.asarray(Image.open(mask).convert("L")) < 128
    for v in report["variants"]:
        img = np.asarray(Image.open(v["path"]).convert("RGB"))
        assert np.array_equal(img[~m], original[~m])
    sent = server.edit_requests[0]
    assert sent.value("rendering_speed") == "TURBO" and sent.value("style_codes") == "0A1B2C3D"


def test_exit_codes_for_provider_failures(server, photo_and_mask):
    photo, mask = photo_and_mask
    env = {"IDEOGRAM_API_KEY": server.api_key}
    base = ["edit", photo, "--mask", mask, "--provider", "ideogram", "--base-url", server.base_url]
    res = cli(*base, "--prompt", "forbidden thing", env=env)
    assert res.returncode == 1 and "safety filter refused" in res.stderr
    res = cli(*base, "--prompt", "unsafe-all", "--num-images", "2", "--json", env=env)
    assert res.returncode == 3 and "withheld every variant" in res.stderr
    assert [v["safe"] for v in json.loads(res.stdout)["variants"]] == [False, False]
    res = cli(*base, "--prompt", "x", env={"IDEOGRAM_API_KEY": "bad-key-123456"})
    assert (
        res.returncode == 1 and "refused the API key" in res.stderr and "bad-key" not in res.stderr
    )
    res = cli(*base, "--prompt", "x")
    assert res.returncode == 2 and "No Ideogram 3.0 API key is set" in res.stderr
    for r in (res,):
        assert "Traceback" not in r.stderr


def test_version_and_auth_status():
    res = cli("--version")
    assert res.returncode == 0 and res.stdout.startswith("inpaint-studio ")
    res = cli("auth", "status", env={"IDEOGRAM_API_KEY": "abcdefghijklmnop"})
    assert (
        res.returncode == 0 and "abcd…mnop" in res.stdout and "abcdefghijklmnop" not in res.stdout
    )


def test_auth_status_names_the_variable_the_provider_really_uses():
    """Issue 18: with only FREEPIK_API_KEY set, `auth status` said "magnific not set" while
    the provider used that key."""
    res = cli("auth", "status", env={"FREEPIK_API_KEY": "freepik-0123456789"})
    line = next(x for x in res.stdout.splitlines() if x.startswith("magnific"))
    assert "set from FREEPIK_API_KEY (" in line and "freepik-0123456789" not in res.stdout


def test_keys_from_the_keyring(server, photo_and_mask, tmp_path):
    """`auth set` stores the key (asked without echo) in the OS keyring; `edit` then finds it."""
    env = {
        "PYTHON_KEYRING_BACKEND": "tests.support.file_keyring.FileKeyring",
        "TEST_KEYRING_FILE": str(tmp_path / "keys.json"),
        "PYTHONPATH": str(ROOT),
    }
    res = subprocess.run(
        [sys.executable, "-m", "inpaint_studio", "auth", "set", "ideogram"],
        input=server.api_key + "\n",
        capture_output=True,
        text=True,
        env=dict(os.environ, **env),
        cwd=tmp_path,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert server.api_key not in res.stdout + res.stderr
    res = cli("auth", "status", env=env)
    assert (
        "ideogram" in res.stdout
        and "from the keyring" in res.stdout
        and server.api_key not in res.stdout
    )
    photo, mask = photo_and_mask
    res = cli(
        "edit",
        photo,
        "--mask",
        mask,
        "--provider",
        "ideogram",
        "--base-url",
        server.base_url,
        "--prompt",
        "a kite",
        "--json",
        env=env,
    )
    assert res.returncode == 0, res.stderr
    assert server.edit_requests[-1].headers["api-key"] == server.api_key
    res = cli("auth", "delete", "ideogram", env=env)
    assert "removed" in res.stdout


def test_editor_without_a_display_says_so(monkeypatch):
    env = {k: "" for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    res = cli(env=env) if sys.platform.startswith("linux") else None
    if res is not None:
        assert res.returncode == 2 and "no display is available" in res.stderr
