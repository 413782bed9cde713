"""Editor speed on the 18 MP benchmark photo (issue #3). Prints figures; asserts nothing.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py [PHOTO]

- open to first paint vs a bare Pillow decode of the file (target ≤ 1.5×);
- a brush segment plus its repaint, p50/p95, at fit zoom and at 100 % (target p95 ≤ 8 ms);
- a wheel step: set a new zoom and repaint, p50/p95/max over 24 steps from fit to 3× fit and
  back, 50 ms apart (the zoomed-out view of each zoom is made in a worker meanwhile);
- the longest GUI event-loop stall (10 ms heartbeat timer) while a job uploads a ~10 MB
  image and downloads 8 results from a loopback Ideogram server in another process
  (target ≤ 50 ms);
- memory added by 8 variants of a 5 % mask (layers hold only the mask's bounding box).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QPoint, QRect, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QRegion  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "fixtures" / "large" / "elephants.jpg"
SERVER = """
import sys, time
sys.path.insert(0, {root!r})
from tests.servers import IdeogramServer
s = IdeogramServer(api_key="bench").start()
print(s.base_url, flush=True)
time.sleep(3600)
"""


async def settled(c) -> None:
    """Repaint, then wait for the zoomed-out view of this zoom to be made (in a worker)."""
    c.repaint()
    while getattr(c, "_view_task", None) is not None:
        await asyncio.sleep(0.01)
    c.repaint()


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


async def main(path: Path) -> None:
    from inpaint_studio.core.pipeline.request import ContextMode
    from inpaint_studio.ui import MainWindow

    t = time.perf_counter()
    img = Image.open(path)
    img.load()
    bare = time.perf_counter() - t
    del img
    w = MainWindow()
    w.ask_before_closing = False
    w.resize(1400, 900)
    w.show()
    await asyncio.sleep(0.2)
    painted = []
    orig_paint = w.canvas.paintEvent

    def paint(ev):
        orig_paint(ev)
        if w.canvas.rgb is not None and not painted:
            painted.append(time.perf_counter())

    w.canvas.paintEvent = paint
    t0 = time.perf_counter()
    await w.open_image(path)
    w.canvas.repaint()
    first = painted[0] - t0
    print(
        f"open to first paint: {first * 1000:.0f} ms; bare Pillow decode {bare * 1000:.0f} ms; ratio {first / bare:.2f}"
    )

    c = w.canvas
    c.fit()
    await settled(c)
    fit = c.zoom
    steps = [fit * 1.1**i for i in range(1, 13)] + [fit * 1.1**i for i in range(11, -1, -1)]
    times = []
    for z in steps:
        t = time.perf_counter()
        c.set_zoom(z, centre=True)
        c.repaint()
        times.append((time.perf_counter() - t) * 1000)
        await asyncio.sleep(0.05)  # wheel ticks come about this far apart
    times.sort()
    print(
        f"wheel step (set zoom + repaint, fit {fit:.3f} to {steps[11]:.3f} and back): "
        f"p50 {statistics.median(times):.2f} ms, p95 {times[int(0.95 * len(times))]:.2f} ms, "
        f"max {times[-1]:.2f} ms"
    )

    c.set_brush_radius(40)
    for label, zoom in (("fit", None), ("100 %", 1.0)):
        if zoom is None:
            c.fit()
        else:
            c.set_zoom(zoom, centre=True)
        await settled(c)
        cx, cy = c.width() // 2, c.height() // 2
        dirty = QRegion()
        plain_update = c.update

        def collect(*args, plain_update=plain_update):  # what the canvas invalidates, painted below
            nonlocal dirty
            if args and isinstance(args[0], QRect):
                dirty = dirty.united(args[0])
            else:
                dirty = QRegion(c.rect())
            plain_update(*args)

        c.update = collect
        for how in ("dirty region", "whole canvas", "dirty region, soft brush"):
            soft = how.endswith("soft brush")
            c.brush_hardness, c.brush_opacity = (0.3, 0.6) if soft else (1.0, 1.0)
            if soft:
                await w.session.prepare_soft_mask()  # as the window does when hardness drops
                await settled(c)
            times = []
            QTest.mousePress(
                c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(cx - 200, cy)
            )
            for i in range(200):
                x = cx - 200 + 2 * i
                y = cy + int(60 * np.sin(i / 15)) + (40 if how == "whole canvas" else 0)
                t = time.perf_counter()
                QTest.mouseMove(c, QPoint(x, y))
                if how != "whole canvas":
                    c.repaint(dirty)  # what the segment invalidated, as Qt would paint it
                    dirty = QRegion()
                else:
                    c.repaint()  # worst case: the whole visible canvas
                times.append((time.perf_counter() - t) * 1000)
            QTest.mouseRelease(
                c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(cx + 200, cy)
            )
            times.sort()
            print(
                f"brush segment + repaint of the {how} at {label} (zoom {c.zoom:.3f}): p50 {statistics.median(times):.2f} ms, "
                f"p95 {times[int(0.95 * len(times))]:.2f} ms, max {times[-1]:.2f} ms"
            )
        c.update = plain_update
    w.undo_stack.clear()
    await w.clear_mask()

    # heartbeat during a job that uploads ~10 MB and downloads 8 results
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(root=str(ROOT))], stdout=subprocess.PIPE, text=True
    )
    base = proc.stdout.readline().strip()
    os.environ["IDEOGRAM_API_KEY"] = "bench"
    os.environ["IDEOGRAM_BASE_URL"] = base
    h, wd = w.photo.rgb.shape[:2]
    yy, xx = np.ogrid[:h, :wd]
    area = 0.05 * h * wd
    rx = (area / np.pi * 1.4) ** 0.5
    ry = area / np.pi / rx
    ellipse = ((yy - h * 0.45) / ry) ** 2 + ((xx - wd * 0.55) / rx) ** 2 <= 1
    await w.session.replace_mask(ellipse, "Benchmark mask")
    w.panel.provider_combo.setCurrentIndex(w.panel.provider_combo.findData("ideogram"))
    w.panel.prompt_edit.setPlainText("a lotus flower")
    w.panel.num_images_spin.setValue(8)
    w.panel.context_combo.setCurrentText(ContextMode.FULL.value)
    await asyncio.sleep(0.6)
    gaps = []
    last = [time.perf_counter()]
    where: list[tuple[float, str]] = []

    def beat():
        now = time.perf_counter()
        gaps.append(now - last[0])
        if now - last[0] > 0.03:
            j = w.runner.jobs.get(max(w.runner.jobs)) if w.runner.jobs else None
            where.append(
                (
                    round((now - last[0]) * 1000),
                    f"{j.stage} {j.done}/{j.total}" if j else "-",
                    len(w.canvas.layers),
                )
            )
        last[0] = now

    timer = QTimer(interval=10, timeout=beat)
    timer.start()
    rss0 = rss_mb()
    job = w.generate()
    assert job is not None, w.panel.generate_button.toolTip()
    await w.runner.wait(job)
    while w.layers_panel.list.count() < 8 and job.error is None:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    timer.stop()
    rss1 = rss_mb()
    print(
        f"job: {job.stage}, sent {job.sent.get('image')}, {len(job.variants)} variants, {job.elapsed:.2f} s"
        + (f" error: {job.error}" if job.error else "")
    )
    print(
        f"GUI heartbeat (10 ms timer) during upload + 8 downloads: longest stall {max(gaps) * 1000:.1f} ms, "
        f"p99 {sorted(gaps)[int(0.99 * len(gaps))] * 1000:.1f} ms over {len(gaps)} beats"
    )
    if where:
        print("  stalls over 30 ms (ms, job stage when the GUI resumed, layers shown):", where)
    layer_bytes = sum(v.layer.nbytes for v in job.variants if v.layer)
    shared = {id(v.layer.rgba) for v in job.variants if v.layer is not None}
    view_bytes = sum(lv.rgba.nbytes for lv in c.layers if id(lv.rgba) not in shared)
    raw_bytes = sum(
        (v.raw_pixels.nbytes if v.raw_pixels is not None else 0) + len(v.raw or b"")
        for v in job.variants
    )
    print(
        f"8 variants of a 5 % mask: layers {layer_bytes / 1e6:.1f} MB + display {view_bytes / 1e6:.1f} MB "
        f"+ raw results {raw_bytes / 1e6:.1f} MB = {(layer_bytes + view_bytes + raw_bytes) / 1e6:.1f} MB "
        f"(photo {w.photo.rgb.nbytes / 1e6:.1f} MB); process RSS grew {rss1 - rss0:.0f} MB"
    )
    proc.kill()
    w.close()
    await w.aclose()


if __name__ == "__main__":
    app = QApplication.instance() or QApplication([])
    app.setQuitOnLastWindowClosed(False)
    from inpaint_studio.ui import aio

    aio.run(main, Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
