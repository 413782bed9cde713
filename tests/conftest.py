from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from inpaint_studio.core.pipeline.request import style_presets  # noqa: E402

from .servers import IdeogramServer  # noqa: E402

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


#: the key the loopback servers of the nothing-lost and Precise Edit tests accept (it must
#: never appear in anything printed or written)
SECRET = "sk-live-7f3a9c1e5b2d4a6f8e0c"


@pytest.fixture
def photo_and_mask(data_dir, tmp_path):
    """The coffee photo and a black-on-white ellipse mask, as files in ``tmp_path``."""
    from PIL import Image

    photo = tmp_path / "coffee.png"
    photo.write_bytes((data_dir / "coffee.png").read_bytes())
    mask = np.full((400, 600), 255, np.uint8)
    mask[ellipse_mask(400, 600, 280, 375, 45, 40)] = 0
    Image.fromarray(mask).save(tmp_path / "mask.png")
    return photo, tmp_path / "mask.png"


@pytest.fixture
def ideogram():
    """An Ideogram server (3.0 and the v2 Precise Edit contract) that accepts :data:`SECRET`."""
    srv = IdeogramServer(api_key=SECRET).start()
    yield srv
    srv.stop()


def ellipse_mask(h: int, w: int, cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    """``(h, w) bool`` filled ellipse."""
    yy, xx = np.ogrid[:h, :w]
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0


def document_request(session, values: dict):
    """Set ``values`` in ``session``'s document request and return the request it then
    builds (the editor's way: the request comes from the document alone)."""
    session.set_request(**values)
    return session.request()
