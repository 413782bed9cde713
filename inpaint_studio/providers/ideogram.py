"""Ideogram's own API: 3.0 inpainting (the default model) and 4.5/4.6 Precise Edit.

Contract (shared/docs/providers.md, "Ideogram 3.0 (official)"):
``POST {base}/v1/ideogram-v3/inpaint`` (the documented route), ``multipart/form-data``, header
``Api-Key``; on 404/410 the deprecated twin ``/v1/ideogram-v3/edit`` is tried once. Mask
polarity: black = edit. Answer ``{"created", "data": [{"url", "prompt", "resolution",
"is_image_safe", "seed", "style_type"}]}``; a variant with ``is_image_safe: false`` has no url.
The ``model`` option ``ideogram-4.5`` / ``ideogram-4.6`` speaks Precise Edit on the v2 API
(:mod:`~inpaint_studio.providers.ideogram_precise`).
"""

from __future__ import annotations

import asyncio

import httpx

from ..core.pipeline.params import wire_values
from ..core.pipeline.protocol import (
    Prepared,
    ProviderOption,
    Quote,
    RawVariant,
    RemoteTask,
    Reporter,
    Stage,
    table_quote,
)
from ..core.pipeline.request import Capabilities, EditRequest, RenderingSpeed, StyleType
from ..core.pixels.imaging import encode_mask
from .answers import ideogram_variants
from .base import NetworkProvider, PollPolicy
from .http import json_part, parse_json, set_fields
from .ideogram_precise import CAPABILITIES as PRECISE_CAPABILITIES
from .ideogram_precise import PRICE_SOURCE, PRICES, PreciseEdit, effective_quality

#: Ideogram 3.0's plain fields (shared/docs/providers.md, "Ideogram 3.0 (official)"); files,
#: references and the palette part are built by :func:`v3_parts`.
V3_WIRE = {
    name: name
    for name in (
        "prompt",
        "rendering_speed",
        "num_images",
        "seed",
        "magic_prompt",
        "style_type",
        "style_preset",
        "style_codes",
    )
}

V3_STYLE_TYPES = frozenset(
    {StyleType.AUTO, StyleType.GENERAL, StyleType.REALISTIC, StyleType.DESIGN, StyleType.FICTION}
)


def v3_parts(
    request: EditRequest, prepared: Prepared, *, edit_is_black: bool = True
) -> tuple[dict, list]:
    """The Ideogram 3.0 multipart body: ``(text parts, file parts)`` for httpx.

    Only fields the user set are sent. ``style_codes`` is one part per code;
    ``color_palette`` is one ``application/json`` part. Shared by every gateway that
    speaks the 3.0 schema (CometAPI).
    """
    assert prepared.encoded is not None and prepared.upload_mask is not None
    enc = prepared.encoded
    files: list = [
        ("image", (f"image.{enc.extension}", enc.data, enc.mime)),
        (
            "mask",
            (
                "mask.png",
                encode_mask(prepared.upload_mask, edit_is_black=edit_is_black),
                "image/png",
            ),
        ),
    ]
    for ref in request.style_references:
        files.append(("style_reference_images", (ref.name, ref.data, ref.mime)))
    for ref in request.character_references:
        files.append(("character_reference_images", (ref.name, ref.data, ref.mime)))
    if request.color_palette is not None:
        files.append(("color_palette", json_part(request.color_palette.to_json())))
    data = set_fields({}, text=True, **wire_values(request, V3_WIRE))
    return data, files


def parse_generation(body: object, label: str) -> list[RawVariant]:
    """Read Ideogram's ``{"data": [...]}`` answer (3.0 and 2.0 share it); see
    :func:`~inpaint_studio.providers.answers.ideogram_variants`.

    Raises:
        ProviderError: the answer does not have that shape.
    """
    return ideogram_variants(body, label)


#: Ideogram 3.0 inpaint's published prices a image, US dollars (shared/docs/providers.md,
#: "Ideogram API v2", developer.ideogram.ai/ideogram-api/price-quotes, read 2026-12-03).
V3_PRICES = {
    RenderingSpeed.FLASH: 0.03,
    RenderingSpeed.TURBO: 0.03,
    RenderingSpeed.DEFAULT: 0.06,
    RenderingSpeed.QUALITY: 0.09,
}
MODELS = ("ideogram-3", "ideogram-4.5", "ideogram-4.6")


class IdeogramProvider(NetworkProvider):
    """Ideogram on api.ideogram.ai or a compatible base URL: ``model`` ``ideogram-3``
    (3.0 inpainting, the default), ``ideogram-4.5`` or ``ideogram-4.6`` (Precise Edit)."""

    name = "ideogram"
    label = "Ideogram 3.0"
    menu_label = "Ideogram (3.0, 4.5 Precise Edit)"
    default_base_url = "https://api.ideogram.ai"
    key_env = "IDEOGRAM_API_KEY"
    base_url_env = "IDEOGRAM_BASE_URL"
    mask_edit_is_black = True
    wire = V3_WIRE
    capabilities = Capabilities(
        speeds=frozenset(RenderingSpeed),
        style_types=V3_STYLE_TYPES,
        max_images=8,
        magic_prompt=True,
        style_preset=True,
        style_codes=True,
        style_references=True,
        character_reference=True,
        color_palette=True,
        negative_prompt=False,  # "Not on this endpoint: negative_prompt"
    )
    options = (
        ProviderOption(
            "model",
            "Model",
            "--model",
            (
                ("ideogram-3", "Ideogram 3.0"),
                ("ideogram-4.5", "Ideogram 4.5 Precise Edit"),
                ("ideogram-4.6", "Ideogram 4.6 Precise Edit"),
            ),
            "ideogram-3",
            help="ideogram-3 (default), ideogram-4.5 or ideogram-4.6 (Precise Edit, full resolution)",
        ),
    )
    variants = (
        ("model", "ideogram-3", "Ideogram 3.0", capabilities),
        ("model", "ideogram-4.5", "Ideogram 4.5 Precise Edit", PRECISE_CAPABILITIES),
        ("model", "ideogram-4.6", "Ideogram 4.6 Precise Edit", PRECISE_CAPABILITIES),
    )
    can_resume = True
    EDIT_PATH = "/v1/ideogram-v3/inpaint"
    TWIN_PATH = "/v1/ideogram-v3/edit"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        model: str = "ideogram-3",
        poll: PollPolicy | None = None,
        **common,
    ) -> None:
        super().__init__(client, **common)
        self.model = model
        self.choose("model", model, MODELS)
        self.poll_policy = poll or PollPolicy()
        # generation look-ups (resume, crash recovery) are the same for every model
        self.precise = PreciseEdit(self, model if model != "ideogram-3" else "ideogram-4.5")

    def price_table(self, request: EditRequest) -> tuple[float, str, str] | None:
        if self.model == "ideogram-3":
            speed = request.rendering_speed
            return V3_PRICES[speed], speed.value, "Ideogram's published prices, 2026-12-03"
        q = effective_quality(request)
        return PRICES[q], q.value, PRICE_SOURCE

    async def quote(self, request: EditRequest, prepared: Prepared | None) -> Quote:
        """3.0: from the price table; 4.x: exact, through ``dry_run`` (needs ``prepared``;
        without it, the table)."""
        if self.model != "ideogram-3" and prepared is not None:
            return await self.precise.quote(request, prepared)
        return table_quote(self.label, self.price_table(request), request.num_images)

    async def resume(self, remote_tasks: list[RemoteTask], report: Reporter) -> list[RawVariant]:
        """Poll the generations of an earlier run to their end (nothing is re-submitted)."""
        import asyncio

        mine = [t for t in remote_tasks if t.provider == self.name]
        report(Stage.WAITING, 0, len(mine))
        groups = await asyncio.gather(*(self.precise.wait_for(t) for t in mine))
        return [v for g in groups for v in g]

    async def fetch(self, task_id: str) -> tuple[str, list[str]]:
        """One look-up of a generation: ``(status, result links)``, ``"COMPLETED"`` when ready."""
        status, raws = await self.precise.fetch(task_id)
        return status, [r.url for r in raws if r.safe and r.url]

    def auth_headers(self) -> dict[str, str]:
        return {"Api-Key": self.api_key(), "Accept": "application/json"}

    async def generate(
        self, request: EditRequest, prepared: Prepared, report: Reporter
    ) -> list[RawVariant]:
        if self.model != "ideogram-3":
            return await self.precise.generate(request, prepared, report)
        headers = self.auth_headers()
        # the mask PNG of a 20 MP photo takes ~0.2 s to encode: off the GUI thread
        data, files = await asyncio.to_thread(
            v3_parts, request, prepared, edit_is_black=self.mask_edit_is_black
        )
        resp = await self.http.request(
            "POST",
            self.base_url + self.EDIT_PATH,
            headers=headers,
            data=data,
            files=files,
            report=report,
            passthrough=(404, 410),
        )
        if resp.status_code in (404, 410):
            resp = await self.http.request(
                "POST",
                self.base_url + self.TWIN_PATH,
                headers=headers,
                data=data,
                files=files,
                report=report,
            )
        return parse_generation(parse_json(resp, self.label), self.label)
