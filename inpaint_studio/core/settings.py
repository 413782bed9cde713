"""Settings, folders and API keys.

- Settings are a JSON file in the platform's config folder (``platformdirs``), or in
  ``$INPAINT_STUDIO_CONFIG_DIR`` when that is set (tests point it at a temporary folder).
- API keys live in the OS keyring (``keyring``), never in the settings file. A key is looked
  up in the provider's environment variable first, then in the keyring.
- Base URLs: ``--base-url`` / explicit value, then the provider's base-URL variable in the
  environment, then the settings file, then the provider's default.

Nothing here knows a provider: the variable names, keyring accounts and defaults come from
each provider's :class:`~inpaint_studio.core.pipeline.protocol.ProviderDescription`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "inpaint-studio"
KEYRING_SERVICE = "inpaint-studio"


def config_dir() -> Path:
    """The settings folder (created on demand)."""
    env = os.environ.get("INPAINT_STUDIO_CONFIG_DIR")
    path = Path(env) if env else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """Folder for the result journal and recovery files (created on demand)."""
    env = os.environ.get("INPAINT_STUDIO_CONFIG_DIR")
    path = (
        Path(env) / "data" if env else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def _settings_file() -> Path:
    return config_dir() / "settings.json"


def load_settings() -> dict[str, Any]:
    """The stored settings, or ``{}`` when there are none or the file is unreadable."""
    try:
        data = json.loads(_settings_file().read_text("utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def save_settings(settings: dict[str, Any]) -> None:
    """Write the settings atomically (temporary file, flush, rename)."""
    from .atomic import atomic_write

    atomic_write(_settings_file(), json.dumps(settings, indent=2, sort_keys=True).encode("utf-8"))


def resolve_base_url(provider: str, env_var: str, default: str, override: str | None = None) -> str:
    """The base URL to use for ``provider``, without a trailing slash (see
    :func:`base_url_source`)."""
    return base_url_source(provider, env_var, default, override)[0]


def base_url_source(
    provider: str, env_var: str, default: str, override: str | None = None
) -> tuple[str, str]:
    """``(url, where)``: the base URL in effect for ``provider`` (no trailing slash) and where
    it comes from, in words ("the IDEOGRAM_BASE_URL environment variable", "Preferences",
    "the default", "the command line"). ``env_var`` is the variable its description names
    (``ProviderDescription.base_url_env``; "" for none)."""
    var = env_var
    if override:
        return override.rstrip("/"), "the command line"
    if var and os.environ.get(var):
        return os.environ[var].rstrip("/"), f"the {var} environment variable"
    urls = load_settings().get("base_urls")
    stored = urls.get(provider) if isinstance(urls, dict) else None
    if isinstance(stored, str) and stored:
        return stored.rstrip("/"), "Preferences"
    return default.rstrip("/"), "the default"


def keyring_problem() -> str | None:
    """``None`` when an OS keyring can store keys here; else one full sentence saying why not
    and what to do instead (set the provider's environment variable)."""
    try:
        import keyring
        from keyring.backends import fail, null

        backend = keyring.get_keyring()
    except Exception as exc:  # a broken installation: same advice
        return f"The system keyring cannot be used ({exc}); set the provider's environment variable instead."
    if isinstance(backend, fail.Keyring | null.Keyring) or getattr(backend, "priority", 1) <= 0:
        return (
            "This system has no keyring to store API keys in (on Linux: install and unlock GNOME Keyring "
            "or KWallet); set the provider's environment variable instead, for example "
            "IDEOGRAM_API_KEY, and restart Inpaint Studio."
        )
    return None


def stored_key(account: str) -> str | None:
    """The key stored in the OS keyring under ``account`` (a provider's
    ``ProviderDescription.key_account``: providers of one account share it), or None."""
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, account) or None
    except Exception:  # no backend, locked, D-Bus missing: treated as not set
        return None


def get_api_key(account: str, env_var: str | None = None) -> str | None:
    """A provider's key: ``env_var`` (the variable its description names; none is derived
    here) first, then the OS keyring entry ``account``; else None.

    A keyring that is missing or locked counts as "no key" (never an exception).
    """
    from .textsafe import register_secret

    value = os.environ.get(env_var) if env_var else None
    if value:
        register_secret(value)  # redacted wherever it could appear from now on
        return value.strip()
    stored = stored_key(account)
    register_secret(stored)
    return stored


def set_api_key(account: str, key: str, env_var: str) -> None:
    """Store ``key`` in the OS keyring entry ``account`` and read it back, so a backend that
    silently drops keys is caught. ``env_var`` is the variable the provider's description
    names for its key (sentences point to it; never derived here).

    Raises:
        RuntimeError: with one sentence, when no keyring is available on this system or it
            did not keep the key.
    """
    problem = keyring_problem()
    if problem:
        raise RuntimeError(problem.replace("IDEOGRAM_API_KEY", env_var))
    import keyring

    try:
        keyring.set_password(KEYRING_SERVICE, account, key)
    except Exception as exc:  # KeyringError, D-Bus failures, a locked store
        raise RuntimeError(
            "The system keyring did not store the key; set the "
            f"{env_var} environment variable instead ({exc})."
        ) from None
    if stored_key(account) != key:
        raise RuntimeError(
            f"The system keyring did not keep the key; set the {env_var} "
            "environment variable instead."
        )


def delete_api_key(account: str) -> bool:
    """Remove the key stored under ``account``; True when one was removed."""
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        keyring.delete_password(KEYRING_SERVICE, account)
        return True
    except (PasswordDeleteError, KeyringError):
        return False
    except Exception:  # no backend at all
        return False


def mask_key(key: str) -> str:
    """Show a key as ``abcd…wxyz`` (at most 8 characters of it, never the whole)."""
    if len(key) <= 12:
        return "…" + key[-2:] if len(key) > 4 else "…"
    return f"{key[:4]}…{key[-4:]}"
