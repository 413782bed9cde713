"""The HTTP machinery every network provider shares (the protocol itself: core/protocol.py).

- One ``httpx.AsyncClient`` for the whole program, passed in; explicit timeouts.
- Credentials go only to the provider's base URL: result downloads never carry them.
- Plain ``http`` is allowed only for loopback hosts (tests); anything else must be https.
- 429, 502, 503, 504 and connection failures are retried with exponential backoff and
  jitter, honouring ``Retry-After``, a bounded number of times. A POST whose upload
  completed but whose answer timed out (or whose connection dropped) is **not** resent: it
  may have run and been billed (shared/docs/providers.md, Ideogram 3.0 errors).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from ..core.errors import (
    MissingKeyError,
    ProviderError,
)
from ..core.pipeline.net import RetryPolicy
from ..core.pipeline.protocol import (
    ProviderBase,
    ProviderDescription,
    ProviderOption,
)
from ..core.pipeline.request import Capabilities
from ..core.settings import get_api_key, resolve_base_url
from .http import (
    HttpTransport,
)


class NetworkProvider(ProviderBase):
    """Common parts of every provider reached over HTTP: base URL, key and transport.

    Subclasses set ``name``, ``label``, ``default_base_url``, ``key_env``,
    ``capabilities`` (and ``options`` / ``variants`` / ``can_resume``), and implement
    :meth:`auth_headers` and ``generate``; their class-level ``description`` is derived.
    """

    options: tuple[ProviderOption, ...] = ()
    variants: tuple = ()
    can_resume = False
    capabilities: Capabilities  # set by each subclass
    #: the wire schema (ProviderDescription.wire): parameter name → field name it sends
    wire: dict[str, str] = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.description = ProviderDescription(
            name=cls.name,
            label=cls.label,
            capabilities=cls.capabilities,
            key_env=cls.key_env,
            alt_key_envs=cls.alt_key_envs,
            key_account=cls.key_account,
            default_base_url=cls.default_base_url,
            base_url_env=cls.base_url_env,
            options=cls.options,
            variants=cls.variants,
            can_resume=cls.can_resume,
            wire=dict(cls.wire),
            menu_label=cls.menu_label,
        )

    name = ""
    label = ""
    #: the provider list's name when the label is one model's ("" = the label)
    menu_label = ""
    default_base_url = ""
    key_env = ""
    #: other environment variables that may hold the key (e.g. Freepik's, before the rebrand)
    alt_key_envs: tuple[str, ...] = ()
    #: the keyring entry of the key ("" = the provider's name; one account, one entry)
    key_account = ""
    #: the environment variable that points it at another server (tests: a loopback one)
    base_url_env = ""
    mask_edit_is_black = True

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        from ..core.textsafe import register_secret

        self.client = client
        self.base_url = resolve_base_url(
            self.name, self.base_url_env, self.default_base_url, base_url
        )
        self._api_key = api_key
        register_secret(api_key)
        self.retry = retry or RetryPolicy()
        self.http = HttpTransport(
            client,
            self.label,
            self.retry,
            key_hint=lambda: None if self._api_key else wrong_key_hint(type(self)),
        )

    def choose(self, option: str, value: str, allowed: tuple[str, ...]) -> None:
        """Take ``value`` for the option that selects a variant (``model``): label and
        capabilities become that variant's (:meth:`ProviderDescription.resolve`).

        Raises:
            ValueError: ``value`` is not one of ``allowed``.
        """
        if value not in allowed:
            raise ValueError(f"{option} must be one of {allowed}")
        setattr(self, option, value)
        self.label, self.capabilities = self.description.resolve({option: value})
        self.http.label = self.label

    def api_key(self) -> str:
        """The key: given, else the environment variable, else the OS keyring.

        Raises:
            MissingKeyError: none is set (nothing is sent).
        """
        key = self._api_key or find_key(type(self))
        if not key:
            raise MissingKeyError(
                f"No {self.label} API key is set; run `inpaint-studio auth set {self.name}` or set {self.key_env}."
            )
        return key

    def auth_headers(self) -> dict[str, str]:
        raise NotImplementedError

    #: A free authenticated GET (a path under the base URL) that answers 404 for an accepted
    #: key and 401 for a refused one, with what it asks for; None: the provider has none.
    key_check: tuple[str, str] | None = None

    async def check_key(self) -> tuple[bool | None, str]:
        """One free authenticated request (:attr:`key_check`); else why none is sent."""
        if self.key_check is None:
            return await super().check_key()
        path, what = self.key_check
        try:
            self.api_key()
            resp = await self.http.request(
                "GET", self.base_url + path, headers=self.auth_headers(), passthrough=(404,)
            )
        except ProviderError as exc:
            return False, str(exc)
        return (
            True,
            f"{self.label} accepted the key (HTTP {resp.status_code} for {what}; nothing billed).",
        )


@dataclass
class PollPolicy:
    """Polling of asynchronous tasks: ``first`` s, growing by ``factor`` to ``longest`` s,
    giving up after ``timeout`` s (Magnific: "about 1 s growing to 10 s"). The one poll loop
    Magnific and 1min.ai share is :meth:`run`."""

    first: float = 1.0
    factor: float = 1.5
    longest: float = 10.0
    timeout: float = 600.0

    def delays(self):
        d = self.first
        while True:
            yield d
            d = min(self.longest, d * self.factor)

    async def run(self, check, on_timeout):
        """Await ``check()`` until it returns something other than None, sleeping the backoff
        in between; the sleep that would pass ``timeout`` s raises ``on_timeout(timeout)``
        instead (so the limit is obeyed, never overshot by a sleep).

        Raises:
            whatever ``check`` raises (a FAILED task), or ``on_timeout(...)``.
        """
        start = time.monotonic()
        for delay in self.delays():
            remaining = self.timeout - (time.monotonic() - start)
            try:  # a status request that hangs counts against the same limit
                result = await asyncio.wait_for(check(), timeout=max(1.0, remaining))
            except TimeoutError:
                raise on_timeout(self.timeout) from None
            if result is not None:
                return result
            if time.monotonic() - start + delay > self.timeout:
                raise on_timeout(self.timeout)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")


def key_source(cls) -> tuple[str, str]:
    """``(kind, where)`` for the key a provider class would use: kind ``"environment"``,
    ``"keyring"`` or ``"none"``, and where in words ("the IDEOGRAM_API_KEY environment
    variable", "the system keyring", "nowhere")."""
    import os

    for env in (cls.key_env, *cls.alt_key_envs):
        if env and os.environ.get(env):
            return "environment", f"the {env} environment variable"
    if cls.key_env and get_api_key(cls.description.account, cls.key_env):
        return "keyring", "the system keyring (Preferences)"
    return "none", "nowhere"


def wrong_key_hint(cls) -> str:
    """Where to fix a refused key, pointing at where that key really comes from."""
    kind, where = key_source(cls)
    if kind == "environment":
        return f"the key comes from {where}: correct or unset it"
    return f"check it in Preferences or with `inpaint-studio auth set {cls.name}`"


def find_key(cls) -> str | None:
    """A provider class's key: its variable, its other variables, then the keyring."""
    import os

    from ..core.textsafe import register_secret

    for env in cls.alt_key_envs:
        register_secret(os.environ.get(env))
        if not os.environ.get(cls.key_env) and os.environ.get(env):
            return os.environ[env].strip()
    return get_api_key(cls.description.account, cls.key_env)
