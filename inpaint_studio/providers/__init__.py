"""Providers: one module each, all behind :class:`~inpaint_studio.providers.base.Provider`."""

from __future__ import annotations

from typing import Any

import httpx

from ..core.pipeline.net import RetryPolicy
from ..core.pipeline.protocol import (
    Prepared,
    Provider,
    ProviderDescription,
    RawVariant,
    Reporter,
    Stage,
)
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


def describe(name: str) -> ProviderDescription:
    """Provider ``name``'s class-level description (no I/O).

    Raises:
        KeyError: unknown name.
    """
    return PROVIDER_CLASSES[name].description


def descriptions() -> list[ProviderDescription]:
    """Every provider's description, in the order users see them."""
    return [cls.description for cls in PROVIDER_CLASSES.values()]


_key_cache: dict[str, bool] = {}


def has_key(name: str, *, fresh: bool = False) -> bool:
    """Whether ``name`` is usable without asking for a key (offline, or a key is set).

    The OS keyring is asked once per provider and remembered (the editor validates on every
    keystroke); ``fresh`` or :func:`forget_keys` ask again. Environment variables are always
    read anew (cheap).
    """
    desc = describe(name)
    if not desc.needs_key:
        return True
    import os

    if any(os.environ.get(v) for v in (desc.key_env, *desc.alt_key_envs) if v):
        return True
    if fresh or name not in _key_cache:
        _key_cache[name] = find_key(PROVIDER_CLASSES[name]) is not None
    return _key_cache[name]


def forget_keys() -> None:
    """Forget what :func:`has_key` learnt from the keyring (after Preferences changed a key)."""
    _key_cache.clear()


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


def make_provider(name: str, client: httpx.AsyncClient | None, options: dict) -> Provider | None:
    """The provider a history record names, built without touching the network (the
    :data:`~inpaint_studio.core.pipeline.protocol.ProviderFactory` the editor and the command line
    inject into a session). Options it does not know are dropped; None for an unknown name."""
    cls = PROVIDER_CLASSES.get(name)
    if cls is None:
        return None
    known = {k: v for k, v in options.items() if k in cls.description.option_names}
    if cls.capabilities.uploads and client is None:
        return None
    return create_provider(name, client, **known)


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
    "ProviderDescription",
    "RawVariant",
    "RetryPolicy",
    "Stage",
    "create_provider",
    "make_provider",
    "default_provider",
    "describe",
    "descriptions",
    "forget_keys",
    "has_key",
    "provider_names",
]
