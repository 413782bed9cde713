"""One sanitising path for all text that comes from outside (Qt-free).

Provider error texts, returned prompts, ids and file names pass through :func:`clean` before
they reach a terminal, a log, a dialog, a crash report or a file we write:

- every API key the program knows of is replaced by ``[key]``: each key a provider resolved
  (:func:`register_secret`, called where keys are read) and every value of the environment
  variables that hold keys (``*_API_KEY``, ``*_KEY``, ``*_TOKEN``), in every spelling they
  may appear under (as they are, URL-encoded, base64);
- terminal escape sequences (CSI, OSC, …) and every other control character are removed,
  as are the invisible bidirectional overrides that make text read differently than it is;
- with ``one_line`` (the default) line breaks become spaces, so a sentence can never forge
  a second line (a fake shell command under a ``resume`` hint);
- the length is bounded (``limit`` characters).
"""

from __future__ import annotations

import base64
import os
import re
import threading
import unicodedata
from typing import Any
from urllib.parse import quote

_lock = threading.Lock()
_secrets: set[str] = set()

#: Environment variables whose names end like this hold credentials.
_SECRET_ENV = re.compile(r"(_API_KEY|_KEY|_TOKEN|_SECRET)$")
#: ANSI escape sequences: CSI ``ESC [ … final``, OSC ``ESC ] … BEL|ST``, and two-byte ``ESC x``.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]"
)
#: Bidirectional overrides and isolates (Trojan-source style reordering), zero-width joiners kept.
_BIDI = dict.fromkeys(
    map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
)
#: Shortest string treated as a secret (shorter values would redact ordinary words).
MIN_SECRET = 6
#: Shortest value of a ``*_KEY``-like environment variable treated as a secret (API keys are
#: long random strings; short values are settings, not credentials).
MIN_ENV_SECRET = 12


def register_secret(value: str | None) -> None:
    """Remember ``value`` (an API key) so :func:`clean` redacts it wherever it appears."""
    if value and len(value.strip()) >= MIN_SECRET:
        with _lock:
            _secrets.add(value.strip())


def secrets() -> list[str]:
    """Every secret known now (registered ones and key-holding environment variables), each
    in the spellings it may appear under, longest first."""
    with _lock:
        found = set(_secrets)
    for name, value in os.environ.items():
        value = value.strip()
        # only values that look like credentials: long, one word, not a path (a variable such
        # as FOO_KEY=enabled must not turn the word "enabled" into "[key]" everywhere)
        if (
            _SECRET_ENV.search(name)
            and len(value) >= MIN_ENV_SECRET
            and not any(c.isspace() for c in value)
            and os.sep not in value
        ):
            found.add(value)
    spelled: set[str] = set()
    for s in found:
        spelled.add(s)
        spelled.add(quote(s, safe=""))
        b64 = base64.b64encode(s.encode()).decode()
        spelled.add(b64.rstrip("="))
    return sorted((s for s in spelled if len(s) >= MIN_SECRET), key=len, reverse=True)


def redact(text: str, known: list[str] | None = None) -> str:
    """``text`` with every known secret (``known``: from :func:`secrets`) replaced by ``[key]``."""
    for s in secrets() if known is None else known:
        if s in text:
            text = text.replace(s, "[key]")
    return text


def clean(
    text: Any, *, limit: int = 2000, one_line: bool = True, known: list[str] | None = None
) -> str:
    """Text from outside made safe to show and store (see the module's rules).

    Args:
        text: anything; non-strings are turned into text first.
        limit: most characters kept (longer text ends with ``…``).
        one_line: replace line breaks and tabs by spaces (else keep ``\\n`` and ``\\t``).
        known: the secrets to redact, when the caller already has them (:func:`secrets`).
    """
    known = secrets() if known is None else known
    s = text if isinstance(text, str) else str(text)
    if len(s) > 4 * limit + 1000:  # bound the work before anything else
        s = s[: 4 * limit + 1000]
    s = redact(s, known)  # before escapes go: "\x1b[sk-…" would lose the key's first letter
    s = _ANSI.sub("", s).translate(_BIDI)
    out = []
    for ch in s:
        if ch in "\n\r\t":
            out.append(" " if one_line else ("\n" if ch == "\r" else ch))
        elif unicodedata.category(ch) in ("Cc", "Cs") or ch in "\u2028\u2029":
            out.append(" " if one_line and ch in "\u2028\u2029" else "")
        else:
            out.append(ch)
    s = "".join(out)
    if one_line:
        s = re.sub(r" {2,}", " ", s).strip()
    s = redact(s, known)  # a secret split by a removed control character is whole again now
    if len(s) > limit:
        s = s[: max(0, limit - 1)] + "…"
    return s


def clean_json(value: Any, *, limit: int = 20_000, known: list[str] | None = None) -> Any:
    """A JSON-able value with every string in it :func:`clean`-ed (keys included), for
    sidecars, journal entries and embedded metadata (the secrets looked up once)."""
    known = secrets() if known is None else known
    if isinstance(value, str):
        return clean(value, limit=limit, one_line=False, known=known)
    if isinstance(value, dict):
        return {
            clean(str(k), limit=200, known=known): clean_json(v, limit=limit, known=known)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [clean_json(v, limit=limit, known=known) for v in value]
    return value
