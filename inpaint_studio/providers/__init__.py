"""Providers: one module each, all behind :class:`~inpaint_studio.providers.base.Provider`."""

from __future__ import annotations

from typing import Any

import httpx

from ..core.net import RetryPolicy
from ..core.protocol import Prepared, Provider, RawVariant, Reporter, Stage
from .base import find_key
from .cometapi import CometApiProvider
from .ideogram import IdeogramProvider
from .ideogram_v2 import IdeogramV2Provider
from .local import LocalProvider
from .magnific import MagnificProvider
from .onemin import OneMinProvider

#: Provider classes by name, in the order users see them.
PROVIDER_CLASSES: dict[str, Any] = {
    "local": LocalProvider,
    "ideogram": IdeogramProvider,
    "ideogram-v2": IdeogramV2Provider,
    "magnific": MagnificProvider,
    "1min": OneMinProvider,
    "cometapi": CometApiProvider,
}


def provider_names() -> list[str]:
    return list(PROVIDER_CLASSES)


def has_key(name: str) -> bool:
    """Whether ``name`` is usable without asking for a key (offline, or a key is set)."""
    cls = PROVIDER_CLASSES[name]
    if not cls.capabilities.needs_key:
        return True
    return find_key(cls) is not None


def default_provider() -> str:
    """The first provider with a key configured; the offline engine when none has one."""
    for name, cls in PROVIDER_CLASSES.items():
        if cls.capabilities.needs_key and has_key(name):
            return name
    return "local"


def create_provider(
    name: str,
    client: httpx.AsyncClient | None = None,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    retry: RetryPolicy | None = None,
    **options: Any,
) -> Provider:
    """Build provider ``name``.

    Raises:
        KeyError: unknown name.
    """
    cls = PROVIDER_CLASSES[name]
    if not cls.capabilities.uploads:
        return cls(**options)
    if client is None:
        raise ValueError("a network provider needs an httpx.AsyncClient")
    return cls(client, api_key=api_key, base_url=base_url, retry=retry, **options)


__all__ = [
    "CometApiProvider",
    "IdeogramProvider",
    "IdeogramV2Provider",
    "LocalProvider",
    "MagnificProvider",
    "OneMinProvider",
    "Reporter",
    "PROVIDER_CLASSES",
    "Prepared",
    "Provider",
    "RawVariant",
    "RetryPolicy",
    "Stage",
    "create_provider",
    "default_provider",
    "has_key",
    "provider_names",
]
