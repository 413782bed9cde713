"""Preferences: where each key and base URL in effect comes from, Test against the loopback
contract servers, Clear, the no-keyring sentence, one key field for Ideogram 3.0 and 2.0."""

from __future__ import annotations

import pytest
from keyring.backend import KeyringBackend

from inpaint_studio.providers import PROVIDER_CLASSES

from ..servers import MagnificServer
from ..support.waiting import until

pytestmark = pytest.mark.asyncio(loop_scope="session")


class MemoryKeyring(KeyringBackend):
    """A working keyring that keeps passwords in memory (a real backend, not a mock of ours)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        from keyring.errors import PasswordDeleteError

        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError("not stored")


@pytest.fixture
def magnific():
    srv = MagnificServer().start()
    yield srv
    srv.stop()


async def test_sources_test_and_no_keyring(window, server, magnific, monkeypatch):
    monkeypatch.setenv("MAGNIFIC_BASE_URL", magnific.base_url)
    dlg = window.preferences()
    try:
        # the tests' keyring is the null backend: the dialog says so in full, with the way out
        assert dlg.keyring_label.isVisibleTo(dlg)
        text = dlg.keyring_label.text()
        assert "no keyring" in text and "IDEOGRAM_API_KEY" in text and dlg.keyring_label.wordWrap()
        # Ideogram 3.0 and 2.0 share one key field
        assert "ideogram" in dlg.keys and "ideogram-v2" not in dlg.keys
        ideogram = dlg.rows["ideogram"]
        assert "IDEOGRAM_API_KEY environment variable" in ideogram.source.text()
        assert "from the IDEOGRAM_BASE_URL environment variable" in ideogram.url_source.text()
        assert ideogram.label == "Ideogram 3.0 and Ideogram 2.0"
        # Ideogram publishes no free key check: Test explains instead of billing an edit
        sent = len(server.requests)
        ideogram.test.click()
        await until(lambda: ideogram.result.text() not in ("", "Testing…"))
        assert "no free request" in ideogram.result.text() and len(server.requests) == sent
        # Magnific: one free status request, against the loopback contract server
        row = dlg.rows["magnific"]
        assert "No key is set" in row.source.text()
        assert magnific.base_url in row.url_source.text()
        row.key.setText("wrong-key")
        row.test.click()
        await until(lambda: row.result.text() not in ("", "Testing…"))
        assert "refused the API key" in row.result.text() and "wrong-key" not in row.result.text()
        row.key.setText(magnific.api_key)
        row.test.click()
        await until(lambda: row.result.text() not in ("", "Testing…"))
        assert "accepted the key" in row.result.text()
        assert magnific.posts == []  # nothing billed
        # storing a key without a keyring: the sentence, and nothing else is lost
        dlg.save()
        assert dlg.isVisible() and "environment variable" in dlg.message.text()
    finally:
        dlg.reject()


async def test_keyring_source_and_clear(window, monkeypatch):
    import keyring

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        monkeypatch.delenv("IDEOGRAM_API_KEY")
        dlg = window.preferences()
        assert not dlg.keyring_label.isVisibleTo(dlg)
        dlg.keys["ideogram"].setText("stored-key-0123456789")
        dlg.save()
        assert not dlg.isVisible()
        dlg = window.preferences()
        row = dlg.rows["ideogram"]
        assert "from the system keyring" in row.source.text() and "stor…6789" in row.source.text()
        assert row.clear.isEnabled()
        from inpaint_studio.core import settings as cfg

        assert (
            cfg.get_api_key(PROVIDER_CLASSES["ideogram-v2"].description.account)
            == "stored-key-0123456789"
        )  # one key for 3.0 and 2.0
        row.clear.click()
        assert "removed" in row.result.text() and "No key is set" in row.source.text()
        assert (
            cfg.get_api_key(PROVIDER_CLASSES["ideogram"].description.account) is None
            and not row.clear.isEnabled()
        )
        dlg.reject()
    finally:
        keyring.set_keyring(previous)


async def test_refused_key_points_to_where_it_comes_from(server, monkeypatch, data_dir):
    """A 401 for a key from the environment says to correct or unset that variable."""
    import httpx

    from inpaint_studio.core.errors import AuthenticationError
    from inpaint_studio.core.pipeline.jobs import JobRunner
    from inpaint_studio.core.pipeline.request import EditRequest
    from inpaint_studio.core.pixels.imaging import load_image
    from inpaint_studio.providers import IdeogramProvider

    monkeypatch.setenv("IDEOGRAM_API_KEY", "not-the-key")
    photo = load_image(data_dir / "coffee.png")
    import numpy as np

    mask = np.zeros(photo.rgb.shape[:2], bool)
    mask[100:200, 100:200] = True
    async with httpx.AsyncClient() as client:
        runner = JobRunner(client)
        job = runner.submit(
            EditRequest(photo=photo, mask=mask, prompt="a cup"),
            IdeogramProvider(client, base_url=server.base_url),
        )
        await runner.wait(job)
    assert isinstance(job.error, AuthenticationError)
    assert "comes from the IDEOGRAM_API_KEY environment variable" in str(job.error)
