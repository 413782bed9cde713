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

from ..errors import DownloadError, ImageLoadError, InsecureURLError
from ..pixels.imaging import header_size, load_image

#: Largest result file accepted, bytes.
MAX_RESULT_BYTES = 64 * 1024 * 1024
#: Largest result image decoded by default, pixels (the runner passes a bound from what was sent).
MAX_RESULT_PIXELS = 50_000_000


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
        raise InsecureURLError(
            f"{what} {url} uses plain http; only https is allowed except on this computer."
        )
    raise InsecureURLError(f"{what} “{url}” is not a web address.")


@dataclass
class RetryPolicy:
    """Bounded exponential backoff with full jitter; delays in seconds."""

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    #: retry a 429 ``inflight_limit`` here; a batch turns this off and shrinks its own window
    retry_inflight: bool = True

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_delay * 4)
        cap = min(self.max_delay, self.base_delay * (2**attempt))
        return cap / 2 + random.uniform(0, cap / 2)


#: No data for this many seconds ends a result download (a stalled server).
STALL_SECONDS = 30.0
#: A whole result download, retries included, ends after this many seconds (a trickle).
DOWNLOAD_DEADLINE = 120.0
#: Redirects followed for one result link, each checked before it is requested.
MAX_REDIRECTS = 5


def is_internal(host: str) -> bool:
    """Whether ``host`` names this computer or a private, link-local (169.254.x.x: cloud
    metadata), multicast, reserved or unspecified address — never a provider's result host."""
    name = host.strip("[]").lower().rstrip(".")
    if name in ("localhost", "localhost.localdomain") or name.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def usable_link(url: str, *, allow_loopback: bool = False) -> str:
    """``url`` if a result may be fetched from it: https (or http on this computer) to a
    public host; loopback only when ``allow_loopback`` (the provider itself is on this
    computer: a test server).

    Raises:
        DownloadError: the provider gave a link that cannot be used (plain http to another
            host, ``file:``, ``data:``, a private or link-local host…): a provider failure,
            not the user's input. Nothing is connected to.
    """
    from ..textsafe import clean

    try:
        check_url(url, "The result link")
    except InsecureURLError:
        raise DownloadError(
            "The provider gave a result link that cannot be used safely "
            f"(“{clean(url, limit=80)}”); it was not opened."
        ) from None
    host = urlsplit(url).hostname or ""
    if is_internal(host) and not (allow_loopback and is_loopback(host)):
        raise DownloadError(
            f"The provider gave a result link to a private or local address ({clean(host, limit=60)}); "
            "it was not opened."
        )
    return url


async def download_image(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int = MAX_RESULT_BYTES,
    attempts: int = 3,
    retry: RetryPolicy | None = None,
    stall: float = STALL_SECONDS,
    deadline: float = DOWNLOAD_DEADLINE,
    allow_loopback: bool = False,
    max_pixels: int = MAX_RESULT_PIXELS,
) -> tuple[bytes, np.ndarray]:
    """Download a result image **without credentials** and check it is an image.

    Every redirect is checked (https, or http on loopback) *before* it is requested. A
    download that sends nothing for ``stall`` s (30), or has not finished after ``deadline``
    s (120, retries included), fails with a sentence saying so.

    The image's pixel size is read from its header and compared with ``max_pixels`` before
    it is decoded (a 600 KB file may claim 196 MP).

    Returns:
        ``(file bytes, (h, w, 3) uint8 pixels)``.

    Raises:
        DownloadError: the link failed (unusable, private host, expired, 404, too large,
            stalled, too slow) or held no valid image, or one larger than ``max_pixels``.
    """
    usable_link(url, allow_loopback=allow_loopback)
    retry = retry or RetryPolicy(attempts=attempts, base_delay=0.5)
    timeout = httpx.Timeout(connect=15.0, read=stall, write=stall, pool=stall)
    try:
        async with asyncio.timeout(deadline):
            data = await _fetch(client, url, max_bytes, retry, timeout, stall, allow_loopback)
    except TimeoutError:
        raise DownloadError(
            f"A result download had not finished after {deadline:.0f} s and was stopped; "
            "the result journal keeps what arrived before."
        ) from None
    try:
        w, h = header_size(data)
    except ImageLoadError:
        raise DownloadError("A result link did not hold a valid image.") from None
    if w * h > max_pixels:
        raise DownloadError(
            f"A result image is {w}×{h} pixels, far larger than what was sent; it was not decoded."
        )
    try:
        pixels = (await asyncio.to_thread(load_image, data)).rgb
    except ImageLoadError:
        raise DownloadError("A result link did not hold a valid image.") from None
    return data, pixels


async def _fetch(
    client,
    url: str,
    max_bytes: int,
    retry: RetryPolicy,
    timeout,
    stall: float,
    allow_loopback: bool = False,
) -> bytes:
    too_large = f"A result file is larger than {max_bytes // 1_048_576} MB and was refused."
    attempt = 0
    while True:
        target = url
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                # a fresh request with only the client's neutral headers: never an API key
                async with client.stream(
                    "GET",
                    target,
                    headers={"Accept": "image/*"},
                    follow_redirects=False,
                    timeout=timeout,
                ) as resp:
                    if resp.status_code in (301, 302, 303, 307, 308) and resp.headers.get(
                        "Location"
                    ):
                        target = usable_link(
                            str(resp.url.join(resp.headers["Location"])),
                            allow_loopback=allow_loopback,
                        )
                        continue
                    if resp.status_code == 200:
                        declared = resp.headers.get("Content-Length")
                        if declared and declared.isdigit() and int(declared) > max_bytes:
                            raise DownloadError(too_large)
                        chunks = bytearray()
                        async for chunk in resp.aiter_bytes():
                            chunks += chunk
                            if len(chunks) > max_bytes:
                                raise DownloadError(too_large)
                        return bytes(chunks)
                    if resp.status_code in (404, 403, 410):
                        raise DownloadError(
                            f"A result link could not be downloaded (HTTP {resp.status_code}); it may have expired.",
                            status=resp.status_code,
                        )
                    if resp.status_code < 500 and resp.status_code != 429:
                        raise DownloadError(
                            f"A result link answered HTTP {resp.status_code}.",
                            status=resp.status_code,
                        )
                    failure: Exception = DownloadError(
                        f"The result server failed (HTTP {resp.status_code}).",
                        status=resp.status_code,
                    )
                    break
            else:
                raise DownloadError(
                    f"A result link redirected more than {MAX_REDIRECTS} times and was not followed."
                )
        except httpx.ReadTimeout as exc:
            failure = DownloadError(
                f"A result download stalled: no data for {stall:.0f} s.", details=repr(exc)
            )
        except httpx.TransportError as exc:
            failure = DownloadError(
                "A result could not be downloaded: the connection failed.", details=repr(exc)
            )
        attempt += 1
        if attempt >= retry.attempts:
            raise failure
        await asyncio.sleep(retry.delay(attempt - 1))
