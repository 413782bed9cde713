"""Magnific (formerly the Freepik API): "Ideogram Image Edit", asynchronous tasks.

Contract (shared/docs/providers.md, "Magnific"): base ``https://api.magnific.com`` with header
``x-magnific-api-key`` (a base of ``https://api.freepik.com`` gets ``x-freepik-api-key``).
``POST {base}/v1/ai/ideogram-image-edit`` with JSON: ``prompt``, ``image`` and ``mask`` as bare
base64 (whether a ``data:`` prefix is accepted is unconfirmed), ``seed``,
``rendering_speed`` (TURBO, DEFAULT, QUALITY), ``magic_prompt``, ``color_palette``,
``style_codes``, ``style_type`` (AUTO, GENERAL, REALISTIC, DESIGN; required with character
references), ``style_reference_images``, ``character_reference_images``, ``webhook_url``.
The POST answers ``{"data": {"task_id", "status": "CREATED", "generated": []}}``; ``GET
{base}/v1/ai/ideogram-image-edit/{task_id}`` goes CREATED → IN_PROGRESS → COMPLETED
(``generated`` = image URLs) or FAILED. One image per task (unconfirmed): N variants are N
tasks with seeds s, s+1, ….
"""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import urlsplit

import httpx

from ..core.errors import InpaintError, InvalidRequestError, ProviderError, ProviderTimeoutError
from ..core.pipeline.params import wire_values
from ..core.pipeline.protocol import (
    Prepared,
    ProviderOption,
    RawVariant,
    RemoteTask,
    Reporter,
    Stage,
)
from ..core.pipeline.request import (
    MAX_SEED,
    Capabilities,
    EditRequest,
    RenderingSpeed,
    StyleType,
    random_seed,
)
from ..core.pixels.imaging import encode_mask
from ..core.textsafe import clean
from .answers import checked_id, magnific_task
from .base import NetworkProvider, PollPolicy
from .http import set_fields

PATH = "/v1/ai/ideogram-image-edit"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class MagnificProvider(NetworkProvider):
    """Ideogram 3.0 edit through Magnific's asynchronous task API."""

    name = "magnific"
    label = "Magnific"
    default_base_url = "https://api.magnific.com"
    key_env = "MAGNIFIC_API_KEY"
    base_url_env = "MAGNIFIC_BASE_URL"
    alt_key_envs = ("FREEPIK_API_KEY",)
    #: its JSON fields (shared/docs/providers.md, "Magnific"); no num_images: one image a task
    wire = {
        name: name
        for name in (
            "prompt",
            "rendering_speed",
            "magic_prompt",
            "style_type",
            "style_codes",
            "color_palette",
        )
    }
    capabilities = Capabilities(
        speeds=frozenset({RenderingSpeed.TURBO, RenderingSpeed.DEFAULT, RenderingSpeed.QUALITY}),
        style_types=frozenset(
            {StyleType.AUTO, StyleType.GENERAL, StyleType.REALISTIC, StyleType.DESIGN}
        ),
        max_images=8,
        magic_prompt=True,
        style_codes=True,
        style_references=True,
        character_reference=True,
        color_palette=True,
        style_type_required_with_character=True,
    )
    options = (
        ProviderOption(
            "webhook_url",
            "Webhook URL",
            "--webhook-url",
            gui=False,
            help="Magnific calls this URL when a task ends",
        ),
    )
    can_resume = True

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        poll: PollPolicy | None = None,
        webhook_url: str | None = None,
        **common,
    ) -> None:
        super().__init__(client, **common)
        self.poll_policy = poll or PollPolicy()
        self.webhook_url = webhook_url

    def auth_headers(self) -> dict[str, str]:
        host = urlsplit(self.base_url).hostname or ""
        header = "x-freepik-api-key" if host.endswith("freepik.com") else "x-magnific-api-key"
        return {header: self.api_key(), "Accept": "application/json"}

    def body(self, request: EditRequest, prepared: Prepared) -> dict:
        """The JSON body without ``seed`` (set per task); only fields the user set."""
        assert prepared.encoded is not None and prepared.upload_mask is not None
        return set_fields(
            {},
            image=_b64(prepared.encoded.data),
            mask=_b64(encode_mask(prepared.upload_mask, edit_is_black=True)),
            **wire_values(request, self.description.wire),
            style_reference_images=[_b64(r.data) for r in request.style_references],
            character_reference_images=[_b64(r.data) for r in request.character_references],
            webhook_url=self.webhook_url,
        )

    async def generate(
        self, request: EditRequest, prepared: Prepared, report: Reporter
    ) -> list[RawVariant]:
        headers = self.auth_headers()
        base_body = await asyncio.to_thread(self.body, request, prepared)
        seed0 = request.seed if request.seed is not None else random_seed()
        n = request.num_images
        tasks: list[tuple[str, int]] = []
        for i in range(n):
            seed = (seed0 + i) % (MAX_SEED + 1)

            def part(stage: str, done: int | None, total: int | None, i: int = i) -> None:
                if stage == Stage.UPLOADING and total:
                    report(stage, i * total + (done or 0), n * total)

            try:
                answer = await self.http.post_json(
                    self.base_url + PATH, dict(base_body, seed=seed), headers=headers, report=part
                )
                task_id = magnific_task(answer).task_id
                if not task_id:
                    raise ProviderError(
                        f"{self.label} did not return a task id.", details=clean(answer, limit=300)
                    )
                task_id = checked_id(task_id, self.label)
            except InpaintError as exc:
                raise with_resume_hint(exc, self.name, [t for t, _ in tasks]) from None
            tasks.append((task_id, seed))
            # written durably at once, before the next (paid) task is created
            prepared.remote_tasks.append(RemoteTask(self.name, task_id, seed))
            if prepared.persist is not None:
                await prepared.persist()
        report(Stage.WAITING, 0, n)
        done = 0

        async def one(task_id: str, seed: int) -> list[RawVariant]:
            nonlocal done
            urls = await self.wait_for(task_id)
            done += 1
            report(Stage.WAITING, done, n)
            return [RawVariant(url=u, seed=seed, extra={"task_id": task_id}) for u in urls]

        results = await asyncio.gather(*(one(t, s) for t, s in tasks), return_exceptions=True)
        return _gathered(results, [t for t, _ in tasks], self.name, prepared.notes)

    async def resume(self, remote_tasks: list[RemoteTask], report: Reporter) -> list[RawVariant]:
        """Poll the tasks of an earlier session to the end (nothing is re-submitted)."""
        mine = [t for t in remote_tasks if t.provider == self.name]
        for t in mine:  # ids read from a project or recovery file go into a URL: check them first
            checked_id(t.task_id, self.label)

        async def one(t: RemoteTask) -> list[RawVariant]:
            urls = await self.wait_for(t.task_id)
            return [RawVariant(url=u, seed=t.seed, extra={"task_id": t.task_id}) for u in urls]

        report(Stage.WAITING, 0, len(mine))
        groups = await asyncio.gather(*(one(t) for t in mine), return_exceptions=True)
        return _gathered(groups, [t.task_id for t in mine], self.name, [])

    #: the status of a task that does not exist (free)
    key_check = (f"{PATH}/00000000-0000-0000-0000-000000000000", "a status request")

    async def fetch(self, task_id: str) -> tuple[str, list[str]]:
        """One status look-up: ``(status, generated URLs)``."""
        task_id = checked_id(task_id, self.label)
        answer = await self.http.get_json(
            f"{self.base_url}{PATH}/{task_id}", headers=self.auth_headers()
        )
        task = magnific_task(answer)
        if task.status == "FAILED":
            raise InvalidRequestError(
                f"{self.label} could not complete the edit: {task.reason().rstrip('.')}.",
                details=clean(answer, limit=300),
            )
        if task.status == "COMPLETED":
            return task.status, task.urls(self.label)
        return task.status, []

    async def wait_for(self, task_id: str) -> list[str]:
        """Poll ``task_id`` until COMPLETED (its image URLs) or FAILED, with backoff.

        Raises:
            InvalidRequestError: the task FAILED.
            ProviderTimeoutError: still running after ``poll.timeout`` s (the id is kept).
        """

        async def check() -> list[str] | None:
            status, generated = await self.fetch(task_id)
            return generated if status == "COMPLETED" else None

        return await self.poll_policy.run(
            check,
            lambda limit: ProviderTimeoutError(
                f"{self.label} has not finished after {limit:.0f} s."
            ),
        )


def resume_hint(provider: str, ids: list[str]) -> str:
    """``fetch it with `inpaint-studio resume ID --provider P`; …`` for every paid task id."""
    return "; ".join(f"`inpaint-studio resume {i} --provider {provider}`" for i in ids)


def with_resume_hint(exc: InpaintError, provider: str, ids: list[str]) -> InpaintError:
    """``exc`` with every already created (paid) task named with its resume command."""
    if ids:
        n = len(ids)
        exc.message = (
            f"{exc.message.rstrip('.')}. {n} task{'s were' if n > 1 else ' was'} already created; "
            f"fetch {'them' if n > 1 else 'it'} with {resume_hint(provider, ids)}."
        )
        exc.details = f"created task ids: {' '.join(ids)}\n{exc.details}"
    return exc


def _gathered(results: list, ids: list[str], provider: str, notes: list[str]) -> list[RawVariant]:
    """The variants of every task that finished; the others named with their resume command
    (in ``notes`` when some finished, in the error when none did)."""
    ok = [r for r in results if not isinstance(r, BaseException)]
    failed = [(i, r) for i, r in zip(ids, results, strict=True) if isinstance(r, BaseException)]
    for _, r in failed:
        if not isinstance(r, Exception):  # cancellation and the like are not a task's failure
            raise r
    if failed and not ok:
        first = failed[0][1]
        if not isinstance(first, InpaintError):
            raise first
        raise with_resume_hint(
            first, provider, [i for i, r in failed if not isinstance(r, InvalidRequestError)]
        )
    if failed:
        pending = [i for i, r in failed if not isinstance(r, InvalidRequestError)]
        first = failed[0][1]
        reason = first.message if isinstance(first, InpaintError) else "an unexpected failure"
        notes.append(
            f"{len(failed)} of {len(ids)} tasks did not finish ({reason.rstrip('.')})"
            + (
                f"; fetch {'them' if len(pending) > 1 else 'it'} later with {resume_hint(provider, pending)}."
                if pending
                else "."
            )
        )
    return [v for group in ok for v in group]
