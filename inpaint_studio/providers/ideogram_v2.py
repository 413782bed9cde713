"""Ideogram 2.0 legacy edit, on Ideogram's API (and CometAPI's copy of it).

Contract (shared/docs/providers.md, "Ideogram 2.0 (legacy /edit)"): ``POST {base}/edit``,
multipart, header ``Api-Key``; parts ``image_file``, ``mask`` (black = edit), ``prompt``,
``model`` (``V_2_TURBO`` for TURBO, ``V_2`` for DEFAULT — the only two it accepts),
``magic_prompt_option``, ``num_images`` 1–8, ``seed``, ``style_type`` (AUTO, GENERAL,
REALISTIC, DESIGN, RENDER_3D, ANIME). No palette, references, codes or presets. The answer
has the 3.0 shape.
"""

from __future__ import annotations

import asyncio

from ..core.pipeline.params import wire_values
from ..core.pipeline.protocol import Prepared, RawVariant, Reporter
from ..core.pipeline.request import Capabilities, EditRequest, RenderingSpeed, StyleType
from ..core.pixels.imaging import encode_mask
from .base import NetworkProvider
from .http import parse_json, set_fields
from .ideogram import parse_generation

#: Ideogram 2.0's plain fields (shared/docs/providers.md, "Ideogram 2.0 (legacy /edit)").
V2_WIRE = {
    "prompt": "prompt",
    "num_images": "num_images",
    "seed": "seed",
    "magic_prompt": "magic_prompt_option",
    "style_type": "style_type",
}
V2_MODELS = {RenderingSpeed.TURBO: "V_2_TURBO", RenderingSpeed.DEFAULT: "V_2"}
V2_CAPABILITIES = Capabilities(
    speeds=frozenset(V2_MODELS),
    style_types=frozenset(
        {
            StyleType.AUTO,
            StyleType.GENERAL,
            StyleType.REALISTIC,
            StyleType.DESIGN,
            StyleType.RENDER_3D,
            StyleType.ANIME,
        }
    ),
    max_images=8,
    magic_prompt=True,
)


def v2_parts(request: EditRequest, prepared: Prepared) -> tuple[dict, list]:
    """The legacy multipart body ``(text parts, file parts)``; only fields the user set."""
    assert prepared.encoded is not None and prepared.upload_mask is not None
    enc = prepared.encoded
    files = [
        ("image_file", (f"image.{enc.extension}", enc.data, enc.mime)),
        ("mask", ("mask.png", encode_mask(prepared.upload_mask, edit_is_black=True), "image/png")),
    ]
    data = set_fields(
        {},
        text=True,
        model=V2_MODELS[request.rendering_speed],
        **wire_values(request, V2_WIRE),
    )
    return data, files


class IdeogramV2Provider(NetworkProvider):
    """Ideogram 2.0 legacy edit (``V_2`` / ``V_2_TURBO``)."""

    name = "ideogram-v2"
    label = "Ideogram 2.0"
    default_base_url = "https://api.ideogram.ai"
    key_env = "IDEOGRAM_API_KEY"
    base_url_env = "IDEOGRAM_BASE_URL"
    key_account = "ideogram"  # one Ideogram account, one key
    wire = V2_WIRE
    capabilities = V2_CAPABILITIES
    PATH = "/edit"

    def auth_headers(self) -> dict[str, str]:
        return {"Api-Key": self.api_key(), "Accept": "application/json"}

    async def generate(
        self, request: EditRequest, prepared: Prepared, report: Reporter
    ) -> list[RawVariant]:
        headers = self.auth_headers()
        data, files = await asyncio.to_thread(v2_parts, request, prepared)
        resp = await self.http.request(
            "POST",
            self.base_url + self.PATH,
            headers=headers,
            data=data,
            files=files,
            report=report,
        )
        return parse_generation(parse_json(resp, self.label), self.label)
