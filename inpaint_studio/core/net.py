"""Network rules shared by the runner and every provider (Qt-free).

- Plain ``http`` is allowed only for loopback hosts (tests); anything else must be https.
- Result links expire (shared/docs/providers.md, "Common to all"): download at once,
  **without** credentials, with a size cap and an image check.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import numpy as np

from .errors import DownloadError, ImageLoadError, InsecureURLError
from .imaging import load_image

#: Largest result file accepted, bytes.
MAX_RESULT_BYTES = 64 * 1024 * 1024


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, what: str = "The provider address") -> str:
    """Return ``url`` if it is https, or http on a loopback host.

    Raises:
        InsecureURLError: plain http to another host, or not a web address.
    """
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return url
    if parts.scheme == "http":
        raise InsecureURLError(f"{what} {url} uses plain http; only https is allowed except on this computer.")
    raise InsecureURLError(f"{what} “{url}” is not a web address.")


@dataclass
class RetryPolicy:
    """Bounded exponential backoff with full jitter; delays in seconds."""

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_delay * 4)
        cap = min(self.max_delay, self.base_delay * (2**attempt))
        return cap / 2 + random.uniform(0, cap / 2)


async def download_image(
    client: httpx.AsyncClient, url: str, *, max_bytes: int = MAX_RESULT_BYTES, attempts: int = 3,
    retry: RetryPolicy | None = None,
) -> tuple[bytes, np.ndarray]:
    """Download a result image **without credentials** and check it is an image.

    Returns:
        ``(file bytes, (h, w, 3) uint8 pixels)``.

    Raises:
        DownloadError: the link failed (expired, 404, too large) or held no valid image.
    """
    check_url(url, "The result link")
    retry = retry or RetryPolicy(attempts=attempts, base_delay=0.5)
    attempt = 0
    while True:
        try:
            # a fresh request with only the client's neutral headers: never an API key
            # result hosts may redirect to storage; no credentials are sent, and the final
            # address must pass the same https rule
            async with client.stream("GET", url, headers={"Accept": "image/*"}, follow_redirects=True) as resp:
                check_url(str(resp.url), "The result link")
                if resp.status_code == 200:
                    declared = resp.headers.get("Content-Length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise DownloadError(f"A result file is larger than {max_bytes // 1_048_576} MB and was refused.")
                    chunks = bytearray()
                    async for chunk in resp.aiter_bytes():
                        chunks += chunk
                        if len(chunks) > max_bytes:
                            raise DownloadError(f"A result file is larger than {max_bytes // 1_048_576} MB and was refused.")
                    data = bytes(chunks)
                    break
                if resp.status_code in (404, 403, 410):
                    raise DownloadError(
                        f"A result link could not be downloaded (HTTP {resp.status_code}); it may have expired.",
                        status=resp.status_code,
                    )
                if resp.status_code < 500 and resp.status_code != 429:
                    raise DownloadError(f"A result link answered HTTP {resp.status_code}.", status=resp.status_code)
                failure: Exception = DownloadError(f"The result server failed (HTTP {resp.status_code}).", status=resp.status_code)
        except httpx.TransportError as exc:
            failure = DownloadError("A result could not be downloaded: the connection failed.", details=repr(exc))
        attempt += 1
        if attempt >= retry.attempts:
            raise failure
        await asyncio.sleep(retry.delay(attempt - 1))
    try:
        pixels = (await asyncio.to_thread(load_image, data)).rgb
    except ImageLoadError:
        raise DownloadError("A result link did not hold a valid image.") from None
    return data, pixels


