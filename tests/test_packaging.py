"""The installable package and the packaging files (the bundle itself: packaging/smoke.sh)."""

from __future__ import annotations

import configparser
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_has_both_entry_points_and_the_resources(tmp_path):
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if res.returncode != 0 and "No module named 'hatchling'" in res.stderr:
        res = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), str(ROOT)],
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert res.returncode == 0, res.stderr[-2000:]
    wheel = next(tmp_path.glob("inpaint_studio-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry = next(n for n in names if n.endswith("entry_points.txt"))
        cfg = configparser.ConfigParser()
        cfg.read_string(z.read(entry).decode())
    assert cfg["console_scripts"]["inpaint-studio"] == "inpaint_studio.cli:main"
    assert (
        cfg["gui_scripts"]["inpaint-studio-gui"] == "inpaint_studio.cli:gui_main"
    )  # no console on Windows
    for needed in (
        "inpaint_studio/resources/style_presets.json",
        "inpaint_studio/resources/sample/coffee.png",
        "inpaint_studio/resources/icons/inpaint-studio.svg",
        "inpaint_studio/resources/icons/inpaint-studio-256.png",
    ):
        assert needed in names


def test_desktop_and_metainfo_files_are_valid():
    desktop = configparser.ConfigParser(interpolation=None)
    desktop.optionxform = str
    desktop.read(ROOT / "packaging" / "inpaint-studio.desktop")
    entry = desktop["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Exec"].startswith("inpaint-studio-gui")
    assert "image/webp" in entry["MimeType"]
    tree = ET.parse(ROOT / "packaging" / "io.inpaintstudio.InpaintStudio.metainfo.xml")
    assert tree.getroot().findtext("id") == "io.inpaintstudio.InpaintStudio"
    assert tree.getroot().find("launchable").text == "inpaint-studio.desktop"


def test_spec_and_build_script_compile():
    compile((ROOT / "packaging" / "inpaint_studio.spec").read_text(), "inpaint_studio.spec", "exec")
    compile((ROOT / "packaging" / "build.py").read_text(), "build.py", "exec")
    from PIL import Image

    for size in (16, 32, 48, 256, 512):
        assert Image.open(ROOT / "resources" / "icons" / f"inpaint-studio-{size}.png").size == (
            size,
            size,
        )
