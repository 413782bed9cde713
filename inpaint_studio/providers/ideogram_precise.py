"""Precise Edit with Ideogram 4.5 (and 4.6) on Ideogram's v2 API.

Contract (shared/docs/providers.md, "Ideogram API v2: Precise Edit with Ideogram 4.5"):
``POST {base}/v2/image/precise-edit/ideogram-4-5`` (4.6: ``…/ideogram-4-6``, unconfirmed on
Ideogram's own index), ``multipart/form-data``, header ``Api-Key``. Parts: ``prompt``,
``image``, ``mask`` (black = edit; both colours required), ``reference_images`` (≤ 4, ≤ 3 with
a mask), ``quality`` (very_low | low | medium | high), ``seed``, ``num_images``, ``async``.
The answer is at the sent image's exact size. ``?dry_run=true`` prices a request without
running it; ``async=true`` answers ``{"generation_id", "seed"}`` at once and
``GET /v2/generations/{id}`` is polled (pending → completed | failed). There is no idempotency
key, so the generation id is kept durably before any wait: a crash never loses paid work.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator

from ..core.errors import (
    InvalidRequestError,
    Problem,
    ProviderError,
    ProviderTimeoutError,
    ValidationError,
)
from ..core.pipeline.protocol import Prepared, Quote, RawVariant, RemoteTask, Reporter, Stage
from ..core.pipeline.request import (
    Capabilities,
    EditRequest,
    Quality,
    RenderingSpeed,
)
from ..core.pixels.imaging import encode_mask
from ..core.textsafe import clean
from .answers import ShortText, Status, _Answer, checked_id, ideogram_variants
from .http import parse_json, set_fields

#: the endpoint of each model (4.6's is unconfirmed on Ideogram's index)
PATHS = {
    "ideogram-4.5": "/v2/image/precise-edit/ideogram-4-5",
    "ideogram-4.6": "/v2/image/precise-edit/ideogram-4-6",
}
GENERATIONS = "/v2/generations"
#: pixels Precise Edit edits at its own resolution (2048 × 2048)
MAX_REGION_PIXELS = 4_194_304
#: bytes a file may have (the page says 50 MB; an October copy said 25 MB: the safe limit)
UPLOAD_LIMIT = 25_000_000
#: reference images with a mask (4 slots, one taken by the mask)
MAX_REFERENCES = 3

#: Published prices a image, US dollars (shared/docs/providers.md, "Ideogram API v2",
#: developer.ideogram.ai/ideogram-api/price-quotes, read 2026-12-03). ``dry_run`` is exact;
#: this table is what the editor shows while a quote is on its way, and 4.6 above 2K costs more.
PRICES = {
    Quality.VERY_LOW: 0.008,
    Quality.LOW: 0.03,
    Quality.MEDIUM: 0.06,
    Quality.HIGH: 0.22,
}
PRICE_SOURCE = "Ideogram's published prices (developer.ideogram.ai, price-quotes, 2026-12-03)"

CAPABILITIES = Capabilities(
    speeds=frozenset({RenderingSpeed.DEFAULT}),
    rendering_speed=False,
    quality=True,
    max_references=MAX_REFERENCES,
    max_images=8,
    max_region_pixels=MAX_REGION_PIXELS,
    upload_limit=UPLOAD_LIMIT,
    answer_sizes=(),
    mask_needs_keep=True,
    negative_prompt=False,
)


def effective_quality(request: EditRequest) -> Quality:
    """The quality a request runs at (not set: the model's default, medium)."""
    return request.quality or Quality.MEDIUM


def precise_parts(
    request: EditRequest, prepared: Prepared, *, run_async: bool
) -> tuple[dict, list]:
    """The multipart body ``(text parts, file parts)``; only fields the user set.

    Raises:
        ValidationError: the mask sent keeps no pixel or edits none ("it must contain both
            colours").
    """
    assert prepared.encoded is not None and prepared.upload_mask is not None
    m = prepared.upload_mask
    if m.all() or not m.any():
        raise ValidationError(
            [
                Problem(
                    "mask",
                    "Precise Edit needs a mask with both colours: leave part of the region "
                    "unpainted (and paint some of it).",
                )
            ]
        )
    enc = prepared.encoded
    files: list = [
        ("image", (f"image.{enc.extension}", enc.data, enc.mime)),
        ("mask", ("mask.png", encode_mask(m, edit_is_black=True), "image/png")),
    ]
    for ref in request.references:
        files.append(("reference_images", (ref.name, ref.data, ref.mime)))
    data = set_fields(
        {},
        text=True,
        prompt=request.prompt,
        quality=request.quality.value if request.quality is not None else None,
        seed=request.seed,
        num_images=request.num_images,
    )
    if run_async:
        data["async"] = "true"
    return data, files


def _micros(v: object) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 10**12 else None


Micros = Annotated[int | None, BeforeValidator(_micros)]


class PriceQuote(_Answer):
    """``{"object": "price_quote", "usd_micros", "qualifier", "quantity", …}``."""

    object: ShortText = None
    usd_micros: Micros = None
    upper_bound_usd_micros: Micros = None
    qualifier: ShortText = None


class Generation(_Answer):
    """``GET /v2/generations/{id}``: ``status`` pending | completed | failed."""

    generation_id: ShortText = None
    status: Status = ""
    failure_reason: ShortText = None
    usage_cost_usd_micros: Micros = None


def read_quote(answer: object, label: str, detail: str) -> Quote:
    """A :class:`Quote` from a ``dry_run`` answer.

    Raises:
        ProviderError: the answer holds no price.
    """
    q = PriceQuote.model_validate(answer if isinstance(answer, dict) else {})
    if q.usd_micros is None:
        raise ProviderError(
            f"{label} sent a price quote without a price.", details=clean(answer, limit=300)
        )
    exact = q.qualifier == "exact"
    usd = q.upper_bound_usd_micros if not exact and q.upper_bound_usd_micros else q.usd_micros
    return Quote(usd / 1e6, exact, detail, f"{label} dry_run" + ("" if exact else " (estimate)"))


def generation_id(answer: object, label: str) -> tuple[str, int | None]:
    """``(generation id, seed)`` of an ``async=true`` answer.

    Raises:
        ProviderError: no usable id (then nothing can be fetched: the sentence says so).
    """
    body = answer if isinstance(answer, dict) else {}
    ident = checked_id(body.get("generation_id"), label, "generation id")
    seed = body.get("seed")
    ok = isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed <= 2_147_483_647
    return ident, seed if ok else None


def read_generation(answer: object, label: str) -> tuple[str, list[RawVariant]]:
    """``(status, variants)`` of a generation look-up; variants only when completed.

    Raises:
        InvalidRequestError: the generation failed (it may be run again).
        ProviderError: a completed answer without images.
    """
    g = Generation.model_validate(answer if isinstance(answer, dict) else {})
    if g.status == "FAILED":
        reason = g.failure_reason or ""
        raise InvalidRequestError(
            f"{label} could not complete the edit"
            + (f" ({reason.rstrip('.')})" if reason else "")
            + "; it was not billed and may be run again.",
            details=clean(answer, limit=300),
        )
    if g.status == "COMPLETED":
        raws = ideogram_variants(answer, label)
        if g.usage_cost_usd_micros is not None:
            for r in raws:
                r.extra["cost_usd"] = g.usage_cost_usd_micros / 1e6 / max(1, len(raws))
        return g.status, raws
    return g.status or "PENDING", []


class PreciseEdit:
    """The Precise Edit half of :class:`~inpaint_studio.providers.ideogram.IdeogramProvider`
    (its ``model`` ideogram-4.5 or ideogram-4.6). Uses the provider's transport, key, poll
    policy and label."""

    def __init__(self, provider, model: str) -> None:
        self.p = provider
        self.model = model
        self.path = PATHS[model]

    def _not_found(self, status: int) -> ProviderError:
        return InvalidRequestError(
            f"{self.p.label} is not offered at {self.p.base_url} (HTTP {status}); choose "
            "Ideogram 4.5 (--model ideogram-4.5), which is.",
            status=status,
        )

    async def quote(self, request: EditRequest, prepared: Prepared) -> Quote:
        """The exact price through ``?dry_run=true``: nothing is generated or billed."""
        import asyncio

        data, files = await asyncio.to_thread(precise_parts, request, prepared, run_async=False)
        resp = await self.p.http.request(
            "POST",
            f"{self.p.base_url}{self.path}?dry_run=true",
            headers=self.p.auth_headers(),
            data=data,
            files=files,
            passthrough=(404,),
        )
        if resp.status_code == 404 and self.model != "ideogram-4.5":
            raise self._not_found(404)
        detail = f"{request.num_images} × {effective_quality(request).value}"
        return read_quote(parse_json(resp, self.p.label), self.p.label, detail)

    async def generate(
        self, request: EditRequest, prepared: Prepared, report: Reporter
    ) -> list[RawVariant]:
        """Submit with ``async=true``, keep the generation id durably, then poll it."""
        import asyncio

        data, files = await asyncio.to_thread(precise_parts, request, prepared, run_async=True)
        resp = await self.p.http.request(
            "POST",
            self.p.base_url + self.path,
            headers=self.p.auth_headers(),
            data=data,
            files=files,
            report=report,
            passthrough=(404,) if self.model != "ideogram-4.5" else (),
        )
        if resp.status_code == 404:
            raise self._not_found(404)
        answer = parse_json(resp, self.p.label)
        if isinstance(answer, dict) and isinstance(answer.get("data"), list):
            return ideogram_variants(answer, self.p.label)  # a server that answered at once
        ident, seed = generation_id(answer, self.p.label)
        task = RemoteTask(self.p.name, ident, seed if seed is not None else request.seed)
        prepared.remote_tasks.append(task)
        if prepared.persist is not None:  # durable before the first wait
            await prepared.persist()
        report(Stage.WAITING, 0, request.num_images)
        return await self.wait_for(task)

    async def wait_for(self, task: RemoteTask) -> list[RawVariant]:
        """Poll ``GET /v2/generations/{id}`` to completed or failed within the poll budget.

        Raises:
            InvalidRequestError: the generation failed.
            ProviderTimeoutError: still pending after the poll policy's timeout (the id is kept).
        """

        async def check() -> list[RawVariant] | None:
            status, raws = await self.fetch(task.task_id)
            return raws if status == "COMPLETED" else None

        raws = await self.p.poll_policy.run(
            check,
            lambda limit: ProviderTimeoutError(
                f"{self.p.label} has not finished after {limit:.0f} s; the generation "
                f"{task.task_id} is kept: `inpaint-studio resume {task.task_id} --provider "
                f"{self.p.name}`."
            ),
        )
        for r in raws:
            r.extra["task_id"] = task.task_id
            if r.seed is None:
                r.seed = task.seed
        return raws

    async def fetch(self, ident: str) -> tuple[str, list[RawVariant]]:
        ident = checked_id(ident, self.p.label, "generation id")
        answer = await self.p.http.get_json(
            f"{self.p.base_url}{GENERATIONS}/{ident}", headers=self.p.auth_headers()
        )
        return read_generation(answer, self.p.label)
