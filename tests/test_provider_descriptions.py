"""Issue 18: providers describe themselves completely; the core derives nothing from a
provider's name (key and base-URL variables, keyring accounts, remote-task records)."""

from __future__ import annotations

import inspect

import httpx
import pytest

from inpaint_studio.core import settings
from inpaint_studio.core.pipeline.protocol import RemoteTask
from inpaint_studio.providers import PROVIDER_CLASSES, create_provider, descriptions


@pytest.mark.asyncio
async def test_each_description_declares_its_variables_and_they_are_what_is_used(monkeypatch):
    client = httpx.AsyncClient()
    for desc in descriptions():
        if not desc.needs_key:
            continue
        assert desc.key_env and desc.base_url_env and desc.default_base_url, desc.name
        monkeypatch.setenv(desc.base_url_env, "http://127.0.0.1:9/x/")
        provider = create_provider(desc.name, client, api_key="k" * 20)
        assert provider.base_url == "http://127.0.0.1:9/x"
        url, where = settings.base_url_source(desc.name, desc.base_url_env, desc.default_base_url)
        assert where == f"the {desc.base_url_env} environment variable"
        monkeypatch.delenv(desc.base_url_env)
    await client.aclose()


def test_one_account_one_keyring_entry_declared_by_the_provider():
    accounts = {name: cls.description.account for name, cls in PROVIDER_CLASSES.items()}
    assert accounts["ideogram-v2"] == accounts["ideogram"] == "ideogram"
    assert accounts["magnific"] == "magnific" and accounts["1min"] == "1min"


def test_settings_know_no_provider_by_name():
    source = inspect.getsource(settings)
    code = "\n".join(
        line for line in source.splitlines() if not line.lstrip().startswith(("#", '"', "-"))
    )
    for name in PROVIDER_CLASSES:
        assert f'"{name}"' not in code, name
    assert not hasattr(settings, "SHARED_KEYS") and not hasattr(settings, "env_prefix")


def test_remote_task_records_are_typed_and_read_from_older_files():
    task = RemoteTask("magnific", "abc-123", 7)
    assert RemoteTask.from_json(task.to_json()) == task
    # 1min.ai records were kept under "uuid" by earlier versions
    assert RemoteTask.from_json({"provider": "1min", "uuid": "u-1", "seed": 3}) == RemoteTask(
        "1min", "u-1", 3
    )
    for junk in (
        None,
        [],
        {"provider": "x"},
        {"task_id": "t"},
        {"provider": 1, "task_id": "t"},
        {"provider": "x", "task_id": "t" * 201},
    ):
        assert RemoteTask.from_json(junk) is None
    assert RemoteTask.from_json({"provider": "x", "task_id": "t", "seed": True}).seed is None
