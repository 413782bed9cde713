"""High-DPI: at a device pixel ratio of 2, 100 % shows one photo pixel per device pixel and the
fitted view is drawn from a pyramid level at device resolution. Runs a real offscreen Qt with
QT_SCALE_FACTOR=2 in a child process (the ratio is fixed when the QApplication starts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from PySide6.QtWidgets import QApplication
    from inpaint_studio.core.pixels.imaging import load_image
    from inpaint_studio.ui.canvas import Canvas
    from inpaint_studio.ui.pyramid import build_pyramid

    app = QApplication([])
    rgb = np.ascontiguousarray(load_image(sys.argv[1]).rgb)
    big = np.ascontiguousarray(np.tile(rgb, (6, 6, 1)))  # 3600 x 2400: two pyramid levels
    mask = np.zeros(big.shape[:2], bool)
    c = Canvas()
    c.resize(600, 400)
    c.show()
    c.set_photo(big, mask, build_pyramid(big, mask))
    out = {"dpr": c.devicePixelRatioF()}
    c.fit()
    out["fit_zoom"] = c.device_zoom()
    out["fit_level"] = c._level()[0]
    c.zoom_actual()
    c.offset = c.offset.__class__(0, 0)
    img = c.grab().toImage()
    out["grab"] = [img.width(), img.height()]
    shown = np.array([[img.pixelColor(x, y).getRgb()[:3] for x in range(40)] for y in range(30)], np.uint8)
    out["one_to_one"] = bool(np.array_equal(shown, big[:30, :40]))
    out["zoom_label"] = round(c.device_zoom() * 100)
    print(json.dumps(out))
""")


def run(scale: str, photo) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_SCALE_FACTOR=scale)
    res = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(photo)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_device_pixel_ratio_2_is_crisp(data_dir):
    two = run("2", data_dir / "coffee.png")
    one = run("1", data_dir / "coffee.png")
    assert two["dpr"] == 2.0 and one["dpr"] == 1.0
    # 100 %: one photo pixel per device pixel, the grab (device pixels) shows the photo exactly
    assert two["one_to_one"] and two["zoom_label"] == 100 and two["grab"] == [1200, 800]
    assert one["one_to_one"]
    # fitted: the level drawn has at least one pixel per device pixel, so DPR 2 uses a level
    # twice as detailed as DPR 1 (never an upscaled smaller one)
    for r in (one, two):
        assert 1 / r["fit_level"] >= r["fit_zoom"] * 0.999
    assert two["fit_level"] * 2 == one["fit_level"]


FIRST_WINDOW = textwrap.dedent("""
    import json
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from inpaint_studio.ui import MainWindow
    w = MainWindow()
    w.show()
    app.processEvents()
    s, f = w.screen().availableGeometry(), w.frameGeometry()
    print(json.dumps({"dpr": w.devicePixelRatioF(), "screen": s.getRect(), "frame": f.getRect()}))
""")


def test_the_first_window_fits_a_1920x1080_screen_at_ratio_2(tmp_path):
    """960×540 logical pixels: the docks scroll rather than push the window past the screen."""
    screens = tmp_path / "screens.json"
    screens.write_text(
        json.dumps(
            {"screens": [{"name": "laptop", "x": 0, "y": 0, "width": 1920, "height": 1080,
                          "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}
        )
    )  # fmt: skip
    env = dict(
        os.environ,
        QT_QPA_PLATFORM=f"offscreen:configfile={screens}",
        QT_SCALE_FACTOR="2",
        INPAINT_STUDIO_CONFIG_DIR=str(tmp_path / "config"),
    )
    res = subprocess.run(
        [sys.executable, "-c", FIRST_WINDOW], env=env, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    sx, sy, sw, sh = out["screen"]
    fx, fy, fw, fh = out["frame"]
    assert out["dpr"] == 2.0 and (sw, sh) == (960, 540)
    assert sx <= fx and sy <= fy and fx + fw <= sx + sw and fy + fh <= sy + sh, out
