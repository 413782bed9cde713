"""Screenshot of the real window for the README: a real photo, a painted mask, two variants.

INPAINT_STUDIO_CONFIG_DIR=$(mktemp -d) xvfb-run -a -s "-screen 0 1600x1000x24" python docs/make_screenshot.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


async def main() -> int:
    from inpaint_studio.ui import MainWindow

    w = MainWindow()
    w.ask_before_closing = False
    w.resize(1280, 800)
    w.show()
    await w.open_image(ROOT / "resources" / "sample" / "coffee.png")
    c = w.canvas
    c.fit()
    w.brush.size_spin.setValue(44)
    w.brush.hardness.setValue(70)  # a soft edge: the blend fades where the brush does
    path = [(414, 62), (402, 120), (388, 190), (372, 240), (366, 280), (360, 300)]

    def pt(x, y):
        p = c.to_screen(x, y)
        return QPoint(round(p.x()), round(p.y()))

    QTest.mousePress(c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pt(*path[0]))
    for x, y in path[1:]:
        QTest.mouseMove(c, pt(x, y))
    QTest.mouseRelease(c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pt(*path[-1]))
    w.brush.size_spin.setValue(92)
    QTest.mouseClick(c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pt(366, 282))
    w.panel.provider_combo.setCurrentIndex(w.panel.provider_combo.findData("local"))
    w.panel.prompt_edit.setPlainText("remove the spoon")
    w.panel.num_images_spin.setValue(2)
    await asyncio.sleep(0.6)
    job = w.generate()
    await w.runner.wait(job)
    while w.layers_panel.list.count() < 2:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # the mask's tint steps aside while the variant is shown
    out = ROOT / "docs" / "screenshot.png"
    w.grab().save(str(out))
    print(out)
    w.close()
    await w.aclose()
    return 0


if __name__ == "__main__":
    app = QApplication.instance() or QApplication([])
    app.setQuitOnLastWindowClosed(False)
    from inpaint_studio.ui import aio

    raise SystemExit(aio.run(main))
