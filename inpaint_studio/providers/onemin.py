"""1min.ai "Image Mask Editor" with model ``ideogram-3``.

Contract (shared/docs/providers.md, "1min.ai"): base ``https://api.1min.ai``, header
``API-KEY``. Upload the image, mask and each reference with ``POST {base}/api/assets``
(multipart field ``asset``) → ``fileContent.path``; then ``POST {base}/api/features`` with
``{"type": "IMAGE_INPAINTER", "model": "ideogram-3", "promptObject": {…}}``. Mask: white
keep, black edit. The answer ``{"aiRecord": {"uuid", "status", "aiRecordDetail":
{"resultObject", "errorMessage"?}, "temporaryUrl"}}``: SUCCESS/COMPLETED is done (download
``temporaryUrl``, one URL or a list: unconfirmed, both accepted), FAILURE/FAILED is an error,
PROCESSING is polled at ``GET {base}/api/results/{uuid}``. Errors ``{"errorCode", "message"}``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from ..core.errors import InpaintError, InvalidRequestError, ProviderError, ProviderTimeoutError
from ..core.pipeline.params import wire_values
from ..core.pipeline.protocol import Prepared, RawVariant, RemoteTask, Reporter, Stage
from ..core.pipeline.request import MAX_SEED, Capabilities, EditRequest, RenderingSpeed, StyleType
from ..core.pixels.imaging import encode_mask
from ..core.textsafe import clean
from .answers import OneMinRecord, checked_id, onemin_record, valid_id
from .base import NetworkProvider, PollPolicy
from .http import set_fields

DONE = {"SUCCESS", "COMPLETED"}
FAILED = {"FAILURE", "FAILED", "ERROR"}


class OneMinProvider(NetworkProvider):
    """Ideogram 3.0 inpainting through 1min.ai."""

    name = "1min"
    label = "1min.ai"
    default_base_url = "https://api.1min.ai"
    key_env = "ONEMIN_API_KEY"
    base_url_env = "ONEMIN_BASE_URL"
    #: its promptObject fields (shared/docs/providers.md, "1min.ai")
    wire = {
        name: name
        for name in (
            "prompt",
            "negative_prompt",
            "rendering_speed",
            "num_images",
            "seed",
            "magic_prompt",
            "style_type",
            "style_preset",
        )
    }
    capabilities = Capabilities(
        speeds=frozenset(RenderingSpeed),
        style_types=frozenset(
            {
                StyleType.AUTO,
                StyleType.GENERAL,
                StyleType.REALISTIC,
                StyleType.DESIGN,
                StyleType.FICTION,
            }
        ),
        max_images=8,
        magic_prompt=True,
        style_preset=True,
        style_references=True,
        max_style_references=5,
        character_reference=True,
        negative_prompt=True,
    )
    can_resume = True

    def __init__(
        self, client: httpx.AsyncClient, *, poll: PollPolicy | None = None, **common
    ) -> None:
        super().__init__(client, **common)
        self.poll_policy = poll or PollPolicy(first=2.0, factor=1.5, longest=10.0)

    def auth_headers(self) -> dict[str, str]:
        return {"API-KEY": self.api_key(), "Accept": "application/json"}

    async def upload(
        self, name: str, data: bytes, mime: str, report: Reporter | None = None
    ) -> str:
        """Upload one file as an asset; returns its storage path."""
        answer = await self.http.request(
            "POST",
            self.base_url + "/api/assets",
            headers=self.auth_headers(),
            files=[("asset", (name, data, mime))],
            report=report,
        )
        try:
            body = answer.json()
            path = body["fileContent"]["path"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise ProviderError(
                f"{self.label} did not accept the upload.", details=clean(answer.text, limit=300)
            ) from None
        if not isinstance(path, str) or not path or len(path) > 1000:
            raise ProviderError(
                f"{self.label} did not accept the upload.", details=clean(path, limit=300)
            )
        return path

    async def generate(
        self, request: EditRequest, prepared: Prepared, report: Reporter
    ) -> list[RawVariant]:
        assert prepared.encoded is not None and prepared.upload_mask is not None
        enc = prepared.encoded
        mask_png = await asyncio.to_thread(encode_mask, prepared.upload_mask, edit_is_black=True)
        files = [
            (f"image.{enc.extension}", enc.data, enc.mime),
            ("mask.png", mask_png, "image/png"),
        ]
        files += [
            (r.name, r.data, r.mime)
            for r in request.style_references + request.character_references
        ]
        total = sum(len(f[1]) for f in files)
        sent = 0
        paths = []
        for name, data, mime in files:

            def part(stage: str, done: int | None, t: int | None, base: int = sent) -> None:
                if stage == Stage.UPLOADING:
                    report(stage, base + (done or 0), total)

            paths.append(await self.upload(name, data, mime, part))
            sent += len(data)
        image_path, mask_path, ref_paths = paths[0], paths[1], paths[2:]
        n_style = len(request.style_references)
        po = set_fields(
            {},
            imageUrl=image_path,
            maskUrl=mask_path,
            **wire_values(request, self.description.wire),
            style_reference_images=ref_paths[:n_style],
            character_reference_images=ref_paths[n_style:],
        )
        body = {"type": "IMAGE_INPAINTER", "model": "ideogram-3", "promptObject": po}
        report(Stage.WAITING, None, None)
        answer = await self.http.post_json(
            self.base_url + "/api/features", body, headers=self.auth_headers()
        )
        return await self._follow(
            onemin_record(answer), answer, request.seed, prepared.remote_tasks, prepared.persist
        )

    #: a result record that does not exist (free; the route is from community notes, unconfirmed)
    key_check = (f"/api/results/{'0' * 32}", "a result look-up")

    async def resume(self, remote_tasks: list[RemoteTask], report: Reporter) -> list[RawVariant]:
        """Poll a PROCESSING record of an earlier session to the end (nothing is re-submitted)."""
        out: list[RawVariant] = []
        report(Stage.WAITING, None, None)
        for t in remote_tasks:
            if t.provider == self.name:
                uuid = checked_id(t.task_id, self.label, "record id")
                answer = await self.http.get_json(
                    f"{self.base_url}/api/results/{uuid}", headers=self.auth_headers()
                )
                out += await self._follow(onemin_record(answer), answer, t.seed, remote_tasks)
        return out

    async def fetch(self, task_id: str) -> tuple[str, list[str]]:
        """One look-up of a result record (``GET {base}/api/results/{uuid}``, community notes,
        unconfirmed): ``("COMPLETED", links)`` when it finished, else its status and no links.

        Raises:
            ProviderError: the id is not one; InvalidRequestError: the job failed.
        """
        uuid = checked_id(task_id, self.label, "record id")
        answer = await self.http.get_json(
            f"{self.base_url}/api/results/{uuid}", headers=self.auth_headers()
        )
        rec = onemin_record(answer)
        if rec.status in FAILED:
            raise InvalidRequestError(
                f"{self.label} could not complete the edit: {rec.error_text().rstrip('.')}.",
                details=clean(answer, limit=300),
            )
        if rec.status in DONE:
            return "COMPLETED", rec.urls(self.label)
        return rec.status or "PROCESSING", []

    async def _follow(
        self,
        record: OneMinRecord,
        answer: object,
        seed: int | None,
        remote_tasks: list[RemoteTask],
        persist=None,
    ) -> list[RawVariant]:
        current: dict[str, Any] = {
            "record": record,
            "answer": answer,
            "uuid": valid_id(record.uuid),
            "first": True,
        }

        async def check() -> list[RawVariant] | None:
            if not current["first"]:
                uuid = checked_id(current["uuid"], self.label, "record id")
                current["answer"] = await self.http.get_json(
                    f"{self.base_url}/api/results/{uuid}", headers=self.auth_headers()
                )
                current["record"] = onemin_record(current["answer"])
                current["uuid"] = valid_id(current["record"].uuid) or current["uuid"]
            current["first"] = False
            rec, uuid = current["record"], current["uuid"]
            if rec.status in DONE:
                return self._variants(rec, seed)
            if rec.status in FAILED:
                raise InvalidRequestError(
                    f"{self.label} could not complete the edit: {rec.error_text().rstrip('.')}.",
                    details=clean(current["answer"], limit=300),
                )
            if not uuid:
                raise ProviderError(
                    f"{self.label} sent an answer without a result.",
                    details=clean(current["answer"], limit=300),
                )
            if not any(t.task_id == uuid for t in remote_tasks):
                remote_tasks.append(RemoteTask(self.name, uuid, seed))
                if persist is not None:
                    await persist()
            return None

        try:
            return await self.poll_policy.run(
                check,
                lambda limit: ProviderTimeoutError(
                    f"{self.label} has not finished after {limit:.0f} s."
                ),
            )
        except InpaintError as exc:
            ids = [
                t.task_id for t in remote_tasks if t.provider == self.name and valid_id(t.task_id)
            ]
            if ids and not isinstance(exc, InvalidRequestError):
                exc.message = (
                    f"{exc.message.rstrip('.')}; the paid job keeps running: fetch it later with "
                    + "; ".join(f"`inpaint-studio resume {i} --provider 1min`" for i in ids)
                    + "."
                )
            raise

    def _variants(self, record: OneMinRecord, seed0: int | None) -> list[RawVariant]:
        out = []
        for i, url in enumerate(record.urls(self.label)):
            seed = (seed0 + i) % (MAX_SEED + 1) if seed0 is not None else None
            out.append(RawVariant(url=url, seed=seed, extra={"uuid": valid_id(record.uuid)}))
        return out
