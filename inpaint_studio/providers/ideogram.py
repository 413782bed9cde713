"""Ideogram 3.0 inpainting through Ideogram's own API.

Contract (shared/docs/providers.md, "Ideogram 3.0 (official)"):
``POST {base}/v1/ideogram-v3/edit``, ``multipart/form-data``, header ``Api-Key``; on 404/410
the twin path ``/v1/ideogram-v3/inpaint`` is tried once. Mask polarity: black = edit.
Answer ``{"created", "data": [{"url", "prompt", "resolution", "is_image_safe", "seed",
"style_type"}]}``; a variant with ``is_image_safe: false`` has no url.
"""

from __future__ import annotations

import asyncio

from ..core.pipeline.params import wire_values
from ..core.pipeline.protocol import Prepared, RawVariant, Reporter
from ..core.pipeline.request import Capabilities, EditRequest, RenderingSpeed, StyleType
from ..core.pixels.imaging import encode_mask
from .answers import ideogram_variants
from .base import NetworkProvider
from .http import json_part, parse_json, set_fields

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


class IdeogramProvider(NetworkProvider):
    """Ideogram 3.0 edit (inpainting) on api.ideogram.ai or a compatible base URL."""

    name = "ideogram"
    label = "Ideogram 3.0"
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
    EDIT_PATH = "/v1/ideogram-v3/edit"
    TWIN_PATH = "/v1/ideogram-v3/inpaint"

    def auth_headers(self) -> dict[str, str]:
        return {"Api-Key": self.api_key(), "Accept": "application/json"}

    async def generate(
        self, request: EditRequest, prepared: Prepared, report: Reporter
    ) -> list[RawVariant]:
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
