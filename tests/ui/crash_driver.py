"""Drives the real editor in a subprocess for the crash tests (tests/ui/test_recovery.py).

    python -m tests.ui.crash_driver MODE PHOTO

Modes print a marker line on stdout when they reach the point where the test kills them
with SIGKILL, then wait forever:
- ``stroke``: paint stroke A, wait for the autosave, type a prompt, then press and drag
  stroke B without releasing → ``MID_STROKE``;
- ``upload``: paint, start a 2-image Ideogram job (the server stalls) → ``UPLOADING``;
- ``results``: paint, start a 2-image Ideogram job → ``RESULTS`` the moment it is done.
``restore``: start, press Restore on the banner, print the window's state as JSON, exit.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def say(marker: str) -> None:
    sys.stdout.write(marker + "\n")
    sys.stdout.flush()


def pt(c, x, y) -> QPoint:
    p = c.to_screen(x, y)
    return QPoint(round(p.x()), round(p.y()))


def stroke(c, points, release=True) -> None:
    QTest.mousePress(
        c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pt(c, *points[0])
    )
    for p in points[1:]:
        QTest.mouseMove(c, pt(c, *p))
    if release:
        QTest.mouseRelease(
            c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pt(c, *points[-1])
        )


def dump_state_json(window) -> str:
    """A compact description of the window's state (used by the crash test driver)."""
    m = window.canvas.mask
    return json.dumps(
        {
            "mask_sum": int(m.sum()) if m is not None else None,
            "prompt": window.panel.prompt_edit.toPlainText(),
            "num_images": window.panel.num_images_spin.value(),
            "layers": len(window.canvas.layers),
            "jobs": {str(j.id): j.stage for j in window.history.values()},
            "variant_seeds": sorted(
                v.seed for j in window.history.values() for v in j.variants if v.seed is not None
            ),
        }
    )


async def main(mode: str, photo: str) -> int:
    from inpaint_studio.ui import MainWindow

    w = MainWindow()
    w.ask_before_closing = False
    w.resize(1200, 800)
    w.show()
    if mode == "restore":
        await asyncio.sleep(0.2)
        if not w.banner.isVisible():
            say('{"restorable": false}')
            return 0
        w.banner.restore.click()
        for _ in range(400):
            await asyncio.sleep(0.05)
            if w.photo is not None and not w.busy:
                break
        say(dump_state_json(w))
        w.close()
        await w.aclose()
        return 0
    await w.open_image(photo)
    c = w.canvas
    c.set_zoom(1.0, centre=True)
    c.set_brush_radius(12)
    w.panel.prompt_edit.setPlainText("a paper boat")
    w.panel.num_images_spin.setValue(2)
    stroke(c, [(100, 100), (200, 120), (260, 180)])
    if mode == "stroke":
        await asyncio.sleep(3.0)  # more than the autosave delay
        stroke(c, [(300, 300), (350, 320), (380, 350)], release=False)
        say("MID_STROKE")
    else:
        w.panel.provider_combo.setCurrentIndex(w.panel.provider_combo.findData("ideogram"))
        await asyncio.sleep(0.1)
        job = w.generate()
        assert job is not None, w.panel.generate_button.toolTip()
        if mode == "upload":
            while job.stage not in ("uploading", "waiting"):
                await asyncio.sleep(0.01)
            await asyncio.sleep(2.0)  # the job is recorded by the autosave
            say("UPLOADING")
        else:
            while job.is_active:
                await asyncio.sleep(0.005)
            say("RESULTS" if job.finished_ok else f"FAILED {job.error}")
    await asyncio.sleep(3600)
    return 0


if __name__ == "__main__":
    app = QApplication.instance() or QApplication([])
    app.setQuitOnLastWindowClosed(False)
    from inpaint_studio.ui import aio

    raise SystemExit(
        aio.run(
            main,
            sys.argv[1],
            sys.argv[2]
            if len(sys.argv) > 2
            else str(Path(__file__).parent.parent / "data" / "coffee.png"),
        )
    )
