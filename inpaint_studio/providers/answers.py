"""One tolerant, validated reading of every provider answer (pydantic v2).

An answer is hostile until it is read here. What is unknown is tolerated (extra keys are
ignored), what is optional and malformed becomes "not given" (a seed ``"²"``, a prompt that is
a number), and what the job cannot go on without (no list of images, a task without an id,
``generated: 5``) is a :class:`~inpaint_studio.core.errors.ProviderError` with one sentence —
never an exception from Python itself. Text is passed through the one sanitising path
(:func:`~inpaint_studio.core.textsafe.clean`), ids must match :data:`ID_PATTERN`, and counts
are bounded (:data:`MAX_ITEMS`).

Contracts: shared/docs/providers.md ("Ideogram 3.0 (official)", "Ideogram 2.0", "Magnific",
"1min.ai").
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from ..core.errors import ProviderError
from ..core.pipeline.protocol import RawVariant
from ..core.pipeline.request import MAX_SEED
from ..core.textsafe import clean

#: Ids that go into a URL (Magnific task ids, 1min.ai record uuids): letters, digits, ``-``
#: and ``_``, 1–128 characters, starting with a letter or digit.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
#: Most items read from one answer's list (``num_images`` is at most 8).
MAX_ITEMS = 64
#: Longest result link accepted, characters.
MAX_URL = 4096


def valid_id(value: object) -> str | None:
    """``value`` if it is a usable id (:data:`ID_PATTERN`), else None."""
    return value if isinstance(value, str) and ID_PATTERN.match(value) else None


def checked_id(value: object, label: str, what: str = "task id") -> str:
    """``value`` as an id that may go into a URL.

    Raises:
        ProviderError: it is not one (a sentence naming the provider; the value is not echoed
            raw).
    """
    ok = valid_id(value)
    if ok is None:
        shown = clean(value, limit=40) if isinstance(value, str) else type(value).__name__
        raise ProviderError(
            f"{label} gave a {what} Inpaint Studio cannot use (“{shown}”); it was not requested."
        )
    return ok


def _seed(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        v = int(v)
    if (
        isinstance(v, str) and v.isascii() and v.isdigit() and len(v) <= 10
    ):  # "²".isdigit() is True: ASCII only
        v = int(v)
    return v if isinstance(v, int) and 0 <= v <= MAX_SEED else None


def _text(limit: int):
    def check(v: Any) -> str | None:
        return clean(v, limit=limit) if isinstance(v, str) and v else None

    return check


def _url(v: Any) -> str | None:
    return v if isinstance(v, str) and 0 < len(v) <= MAX_URL and v.isprintable() else None


def _safe(v: Any) -> bool:
    return v is True  # "false", 0, null, {}: withheld — only a real true is safe


Seed = Annotated[int | None, BeforeValidator(_seed)]
Url = Annotated[str | None, BeforeValidator(_url)]
Prompt = Annotated[str | None, BeforeValidator(_text(10_000))]
ShortText = Annotated[str | None, BeforeValidator(_text(100))]
Safe = Annotated[bool, BeforeValidator(_safe)]
#: a task's or record's status, upper case (anything but a string: unknown, "")
Status = Annotated[str, BeforeValidator(lambda v: v.upper()[:40] if isinstance(v, str) else "")]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


class IdeogramImage(_Answer):
    """One item of Ideogram's ``data`` list (3.0 and 2.0)."""

    url: Url = None
    prompt: Prompt = None
    resolution: ShortText = None
    is_image_safe: Safe = True
    seed: Seed = None
    style_type: ShortText = None


def _items(body: object, key: str, label: str) -> list[dict]:
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise ProviderError(
            f"{label} sent an answer without images.", details=clean(body, limit=300)
        )
    return [i for i in items[:MAX_ITEMS] if isinstance(i, dict)]


def ideogram_variants(body: object, label: str) -> list[RawVariant]:
    """Read Ideogram's ``{"data": [...]}`` answer (3.0 and 2.0 share it).

    Raises:
        ProviderError: there is no list of images.
    """
    out = []
    for item in _items(body, "data", label):
        img = IdeogramImage.model_validate(item)
        out.append(
            RawVariant(
                safe=img.is_image_safe and img.url is not None,
                url=img.url,
                seed=img.seed,
                prompt=img.prompt,
                resolution=img.resolution,
                style_type=img.style_type,
            )
        )
    return out


class MagnificTask(_Answer):
    """Magnific's task object (with or without the ``data`` wrapper)."""

    task_id: Any = None
    status: Status = ""
    generated: Any = None
    error: Any = None
    message: Any = None

    def urls(self, label: str) -> list[str]:
        """The result links of a COMPLETED task.

        Raises:
            ProviderError: ``generated`` is not a list holding at least one link.
        """
        if not isinstance(self.generated, list):
            raise ProviderError(
                f"{label} finished the task with an answer Inpaint Studio does not understand.",
                details=clean(self.generated, limit=300),
            )
        urls = [u for u in (_url(g) for g in self.generated[:MAX_ITEMS]) if u]
        if not urls:
            raise ProviderError(f"{label} finished the task without an image.")
        return urls

    def reason(self) -> str:
        for v in (self.error, self.message):
            if isinstance(v, str) and v.strip():
                return clean(v, limit=300)
            if isinstance(v, dict) and isinstance(v.get("message"), str):
                return clean(v["message"], limit=300)
        return "the task failed"


def magnific_task(answer: object) -> MagnificTask:
    """The task object of an answer, with or without the ``data`` wrapper (webhooks omit it)."""
    if isinstance(answer, dict):
        inner = answer.get("data")
        body = inner if isinstance(inner, dict) else answer
    else:
        body = {}
    try:
        return MagnificTask.model_validate(body)
    except ValidationError:  # every field is tolerant; kept for safety
        return MagnificTask()


class OneMinRecord(_Answer):
    """1min.ai's ``aiRecord``."""

    uuid: Any = None
    status: Status = ""
    aiRecordDetail: Any = None
    temporaryUrl: Any = None

    def error_text(self) -> str:
        d = self.aiRecordDetail
        if isinstance(d, dict):
            for key in ("errorMessage", "error", "message"):
                if isinstance(d.get(key), str) and d[key].strip():
                    return clean(d[key], limit=300)
        if isinstance(d, str) and d.strip():
            return clean(d, limit=300)
        return "the job failed"

    def urls(self, label: str) -> list[str]:
        """The download links of a finished record (one link or a list: unconfirmed, both read).

        Raises:
            ProviderError: there is none.
        """
        links = self.temporaryUrl
        if isinstance(links, str):
            links = [links]
        urls = (
            [u for u in (_url(x) for x in links[:MAX_ITEMS]) if u]
            if isinstance(links, list)
            else []
        )
        if not urls:
            raise ProviderError(
                f"{label} finished without a download link.",
                details=clean(self.temporaryUrl, limit=300),
            )
        return urls


def onemin_record(answer: object) -> OneMinRecord:
    if isinstance(answer, dict):
        rec = answer.get("aiRecord")
        body = rec if isinstance(rec, dict) else answer
    else:
        body = {}
    try:
        return OneMinRecord.model_validate(body)
    except ValidationError:
        return OneMinRecord()
