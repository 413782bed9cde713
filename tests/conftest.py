from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from inpaint_studio.core.request import style_presets  # noqa: E402

from .ideogram_server import IdeogramServer  # noqa: E402

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory, monkeypatch):
    """Settings, keys and base URLs never come from the developer's machine."""
    cfg = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("INPAINT_STUDIO_CONFIG_DIR", str(cfg))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    for var in list(os.environ):
        if var.endswith("_API_KEY") or var.endswith("_BASE_URL") or var == "COMETAPI_KEY":
            monkeypatch.delenv(var, raising=False)
    return cfg


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def server():
    srv = IdeogramServer(presets=style_presets()).start()
    yield srv
    srv.stop()


def ellipse_mask(h: int, w: int, cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    """``(h, w) bool`` filled ellipse."""
    yy, xx = np.ogrid[:h, :w]
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0


def pytest_asyncio_loop_factories(config, item):
    """UI tests run on the real qasync loop (shared/docs/qt-async-notes.md §7); others on asyncio's."""
    if "test_ui" not in str(getattr(item, "path", "")):
        return None
    from PySide6.QtWidgets import QApplication

    def factory():
        QApplication.instance() or QApplication([])
        from inpaint_studio.ui.aio import loop_factory

        return loop_factory()

    return {"qasync": factory}
