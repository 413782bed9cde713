"""HTTP for every provider: the shared client, one transport with retries, bounded answers and redacted errors, and the sentences an HTTP error becomes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from ..core.errors import (
    AuthenticationError,
    InpaintError,
    InvalidRequestError,
    MaybeBilledError,
    NetworkError,
    NoAccessError,
    OutOfCreditsError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    SafetyRefusalError,
    ServerError,
)
from ..core.pipeline.net import RetryPolicy, check_url
from ..core.pipeline.protocol import (
    Reporter,
    Stage,
)

USER_AGENT = "InpaintStudio"
InpaintErrorT = TypeVar("InpaintErrorT", bound=InpaintError)


def default_timeout() -> httpx.Timeout:
    """Short connect, long read (generation takes up to a few minutes), seconds."""
    return httpx.Timeout(connect=15.0, read=300.0, write=120.0, pool=30.0)


#: Modules the first request would import (httpcore, anyio's asyncio backend, h11): imported
#: with the client instead, so the first Generate does not stall the GUI for ~40 ms.
TRANSPORT_MODULES = (
    "httpcore",
    "httpcore._backends.anyio",
    "anyio._backends._asyncio",
    "anyio.streams.tls",
    "anyio.streams.stapled",
    "anyio.to_thread",
    "h11",
    "certifi",
)


def make_client(timeout: httpx.Timeout | None = None) -> httpx.AsyncClient:
    """The program's one HTTP client (no default auth headers: each call adds its own)."""
    import importlib

    from .. import __version__

    for name in TRANSPORT_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:  # another transport version: it imports what it needs itself
            pass

    return httpx.AsyncClient(
        timeout=timeout or default_timeout(),
        headers={"User-Agent": f"{USER_AGENT}/{__version__}"},
        follow_redirects=False,
    )


# --- URL and HTTP helpers ------------------------------------------------------------------


def retry_after_seconds(resp: httpx.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
        if seconds != seconds:  # NaN: no usable value
            return None
        return min(
            max(0.0, seconds), 1e9
        )  # "1e400" is infinity: a very long wait, never "inf hours"
    except ValueError:
        from datetime import datetime
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
            return max(0.0, (when - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


def server_message(resp: httpx.Response) -> tuple[str, dict]:
    """The server's own error text and JSON body, whatever the provider's error shape.

    Understands ``{"error"}``, ``{"message"}``, ``{"detail"}``, ``{"errorMessage"}`` and
    ``application/problem+json`` with ``invalid_params: [{name, reason}]``.
    """
    try:
        body = resp.json()
    except (ValueError, UnicodeDecodeError):
        text = resp.text.strip()[:300]
        return text, {}
    if not isinstance(body, dict):
        return str(body)[:300], {}
    msg = ""
    for key in ("error", "message", "detail", "errorMessage", "title"):
        val = body.get(key)
        if isinstance(val, str) and val:
            msg = val
            break
        if isinstance(val, dict) and isinstance(val.get("message"), str):
            msg = val["message"]
            break
    code = body.get("errorCode")
    if isinstance(code, str) and code:
        msg = f"{msg} ({code})" if msg else code
    params = body.get("invalid_params")
    if isinstance(params, list) and params:
        reasons = "; ".join(
            f"{p.get('name')}: {p.get('reason')}" for p in params if isinstance(p, dict)
        )
        msg = f"{msg} ({reasons})" if msg else reasons
    return msg, body


#: One sentence per Ideogram ``reject_reason`` of a 402 (shared/docs/providers.md, "Ideogram
#: API v2", errors); nothing was billed.
REJECT_REASONS = {
    "insufficient_funds": "Your {label} account has too few credits for this edit; add credits "
    "in Ideogram's billing settings (nothing was charged).",
    "daily_limit": "Your {label} account has reached its daily spending limit; raise it in "
    "Ideogram's billing settings or try again tomorrow (nothing was charged).",
    "subscription_required": "{label} needs an Ideogram API subscription for this model; "
    "subscribe in Ideogram's billing settings (nothing was charged).",
    "priority_credit_required": "{label} needs priority credits for this request; add them in "
    "Ideogram's billing settings (nothing was charged).",
    "feature_limit": "Your {label} plan does not include this feature or has used up its "
    "allowance for it (nothing was charged).",
}


def error_for_response(
    label: str, resp: httpx.Response, key_hint: str | None = None
) -> ProviderError:
    """Map an HTTP error answer to a typed :class:`ProviderError` with one user sentence
    (``key_hint``: where to fix a refused key, from :func:`wrong_key_hint`)."""
    status = resp.status_code
    msg, body = server_message(resp)
    details = f"HTTP {status} from {resp.request.url.host}: {msg}".strip()
    said = f": {msg.rstrip('.')}" if msg else ""
    if status == 401:
        hint = key_hint or "check it in Preferences or with `inpaint-studio auth set`"
        return AuthenticationError(
            f"{label} refused the API key; {hint}.", status=status, details=details
        )
    if status == 402:
        reason = body.get("reject_reason") if isinstance(body, dict) else None
        sentence = REJECT_REASONS.get(reason) if isinstance(reason, str) else None
        return OutOfCreditsError(
            sentence.format(label=label)
            if sentence
            else f"Your {label} account is out of credits or over its plan limit{said}.",
            status=status,
            details=details,
        )
    if status == 403:
        return NoAccessError(
            f"This {label} key has no access to the inpainting model{said}.",
            status=status,
            details=details,
        )
    if status == 429:
        reason = body.get("reject_reason") if isinstance(body, dict) else None
        extra = (
            f" (limit: {body['max_inflight_requests']} images in flight)"
            if isinstance(body, dict) and body.get("max_inflight_requests")
            else ""
        )
        err = RateLimitedError(
            f"{label} is busy with too many requests{extra}; try again in a moment.",
            details=details,
            retry_after=retry_after_seconds(resp),
            reject_reason=reason,
        )
        limit = body.get("max_inflight_requests") if isinstance(body, dict) else None
        err.max_inflight = (
            limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else None
        )
        return err
    if status == 422 and any(
        w in msg.lower() for w in ("safety", "unsafe", "inappropriate", "moderation", "policy")
    ):
        return SafetyRefusalError(
            f"{label}'s safety filter refused this request{said}.", status=status, details=details
        )
    if status in (400, 404, 413, 415, 422):
        return InvalidRequestError(
            f"{label} refused the request{said or ' as invalid'}.", status=status, details=details
        )
    if status >= 500:
        return ServerError(
            f"{label} had a server error (HTTP {status}); try again later.",
            status=status,
            details=details,
            retry_after=retry_after_seconds(resp),
        )
    return ProviderError(
        f"{label} answered with an unexpected HTTP {status}{said}.", status=status, details=details
    )


class _UploadBody:
    """An async byte stream that reports progress and remembers whether it was all sent."""

    CHUNK = 64 * 1024

    def __init__(self, body: bytes, report: Reporter | None) -> None:
        self.body = body
        self.report = report
        self.complete = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        total = len(self.body)
        for start in range(0, total, self.CHUNK):
            yield self.body[start : start + self.CHUNK]
            if self.report:
                self.report(Stage.UPLOADING, min(total, start + self.CHUNK), total)
        self.complete = True
        if self.report:
            self.report(Stage.WAITING, None, None)


class HttpTransport:
    """Sends provider requests with retries and typed errors; downloads results.

    Args:
        client: the shared ``httpx.AsyncClient``.
        label: provider name for messages.
        retry: backoff policy.
    """

    def __init__(
        self, client: httpx.AsyncClient, label: str, retry: RetryPolicy | None = None, key_hint=None
    ) -> None:
        self.client = client
        self.label = label
        self.retry = retry or RetryPolicy()
        self.key_hint = key_hint  # () -> str | None: where to fix a refused key

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        data: dict[str, Any] | None = None,
        files: list | None = None,
        json_body: Any = None,
        report: Reporter | None = None,
        expect: tuple[int, ...] = (200,),
        passthrough: tuple[int, ...] = (),
    ) -> httpx.Response:
        """Send a request, retrying what may be retried.

        Args:
            expect: statuses returned as success.
            passthrough: error statuses returned instead of raised (e.g. 404 to try a twin path).

        Raises:
            ProviderError: typed, after the retries are used up.
            MaybeBilledError: a POST's upload completed but no answer came.
        """
        check_url(url)

        def encode() -> tuple[bytes, dict]:
            built = self.client.build_request(
                method, url, data=data, files=files, json=json_body, headers=headers
            )
            return (built.read() if method != "GET" else b""), dict(built.headers)

        # multipart encoding of a 10 MB body is pixel-sized work: keep it off the GUI thread
        body, send_headers = await asyncio.to_thread(encode) if method != "GET" else encode()
        secrets = _secrets(headers)
        attempt = 0
        while True:
            stream = _UploadBody(body, report) if body else None
            req = self.client.build_request(
                method, url, headers=send_headers, content=stream if stream else None
            )
            try:
                resp = await _send_capped(self.client, req, self.label)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                err: ProviderError = NetworkError(
                    f"Cannot reach {self.label} at {urlsplit(url).netloc}; check the network connection.",
                    details=repr(exc),
                )
            except (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError) as exc:
                if method == "POST" and (stream is None or stream.complete):
                    raise MaybeBilledError(
                        f"{self.label} received the request but did not answer in time; it may have run "
                        "and been billed, so it was not sent again — check your account before retrying.",
                        details=repr(exc),
                    ) from None
                err = ProviderTimeoutError(
                    f"{self.label} did not answer in time.", details=repr(exc)
                )
                if method == "GET":
                    err.retryable = True
            except (httpx.WriteTimeout, httpx.WriteError, httpx.PoolTimeout) as exc:
                err = NetworkError(
                    f"The upload to {self.label} was interrupted; check the network connection.",
                    details=repr(exc),
                )
            else:
                if resp.status_code in expect or resp.status_code in passthrough:
                    return resp
                err = error_for_response(
                    self.label, resp, self.key_hint() if self.key_hint else None
                )
            attempt += 1
            wait = getattr(err, "retry_after", None)
            if wait is not None and wait > MAX_RETRY_AFTER:
                raise redact(
                    type(err)(
                        f"{self.label} asks to wait {_duration(wait)} before the next request; "
                        "try again then.",
                        details=err.details,
                    ),
                    secrets,
                )
            inflight = getattr(err, "reject_reason", None) == "inflight_limit"
            if (
                not getattr(err, "retryable", False)
                or attempt >= self.retry.attempts
                or (inflight and not self.retry.retry_inflight)
            ):
                raise redact(err, secrets)
            await asyncio.sleep(self.retry.delay(attempt - 1, wait))

    async def post_json(
        self, url: str, body: Any, *, headers: dict[str, str], report: Reporter | None = None
    ) -> Any:
        resp = await self.request("POST", url, headers=headers, json_body=body, report=report)
        return parse_json(resp, self.label)

    async def get_json(self, url: str, *, headers: dict[str, str]) -> Any:
        resp = await self.request("GET", url, headers=headers)
        return parse_json(resp, self.label)


#: Largest answer read from a provider's API, bytes after decompression (results are
#: downloaded separately).
MAX_ANSWER_BYTES = 8_000_000
#: A Retry-After longer than this (seconds) ends the job with a sentence instead of waiting.
MAX_RETRY_AFTER = 60.0


async def _send_capped(client: httpx.AsyncClient, req: httpx.Request, label: str) -> httpx.Response:
    """Send ``req`` and read at most :data:`MAX_ANSWER_BYTES` of its (decompressed) body.

    Raises:
        ProviderError: the answer is larger (a 1 MB gzip that unpacks to 1 GB included).
    """
    resp = await client.send(req, stream=True)
    try:
        body = bytearray()
        async for chunk in resp.aiter_bytes():
            body += chunk
            if len(body) > MAX_ANSWER_BYTES:
                raise ProviderError(
                    f"{label} sent an answer larger than {MAX_ANSWER_BYTES // 1_000_000} MB; it was not read."
                )
    finally:
        await resp.aclose()
    drop = {b"content-encoding", b"content-length", b"transfer-encoding"}
    headers = [(k, v) for k, v in resp.headers.raw if k.lower() not in drop]
    return httpx.Response(resp.status_code, headers=headers, content=bytes(body), request=req)


def _secrets(headers: dict[str, str]) -> list[str]:
    """The credential values among request headers (keys, bearer tokens)."""
    out = []
    for name, value in headers.items():
        low = name.lower()
        if "key" in low or low == "authorization":
            token = value.split(" ", 1)[1] if low == "authorization" and " " in value else value
            if len(token) >= 4:
                out.append(token)
    return out


def redact(err: InpaintErrorT, secrets: list[str]) -> InpaintErrorT:
    """``err`` with every secret replaced by ``[key]`` in its sentence and details."""
    for s in secrets:
        if s in err.message or s in err.details:
            err.message = err.message.replace(s, "[key]")
            err.details = err.details.replace(s, "[key]")
            err.args = (err.message,)
    return err


def _duration(seconds: float) -> str:
    if seconds >= 86400 * 2:
        return "more than a day"
    if seconds >= 5400:
        return f"{seconds / 3600:.0f} hours"
    if seconds >= 90:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} seconds"


def parse_json(resp: httpx.Response, label: str) -> Any:
    """The body as JSON, or :class:`ProviderError` saying the answer was not understood."""
    try:
        return resp.json()
    except (ValueError, UnicodeDecodeError):
        raise ProviderError(
            f"{label} sent an answer Inpaint Studio does not understand.", details=resp.text[:300]
        ) from None


def set_fields(target: dict, *, text: bool = False, **fields: Any) -> dict:
    """Copy the fields the user set into ``target``: ``None``, empty strings and empty lists
    are left out ("send only what the user set"); enums become their value; with ``text``
    numbers become strings (multipart text parts). Returns ``target``."""
    for name, value in fields.items():
        if value is None or value == "" or (isinstance(value, list | tuple) and not value):
            continue
        value = getattr(value, "value", value)
        if isinstance(value, tuple):
            value = list(value)
        target[name] = str(value) if text and isinstance(value, int) else value
    return target


def json_part(value: Any) -> tuple[None, bytes, str]:
    """A multipart part of content type ``application/json`` (httpx ``files`` entry)."""
    return (None, json.dumps(value).encode(), "application/json")
