"""Ideogram 3.0 provider against a real loopback server implementing the contract."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import httpx
import numpy as np
import pytest
from PIL import Image

from inpaint_studio.core.errors import (
    AllWithheldError,
    AuthenticationError,
    DownloadError,
    InsecureURLError,
    MaybeBilledError,
    MissingKeyError,
    OutOfCreditsError,
    RateLimitedError,
    SafetyRefusalError,
    ServerError,
    ValidationError,
)
from inpaint_studio.core.pipeline.jobs import JobRunner
from inpaint_studio.core.pipeline.net import RetryPolicy, check_url
from inpaint_studio.core.pipeline.protocol import Stage
from inpaint_studio.core.pipeline.request import (
    ColorPalette,
    EditRequest,
    MagicPrompt,
    PaletteMember,
    RenderingSpeed,
    StyleType,
)
from inpaint_studio.core.pixels.imaging import load_image, load_reference
from inpaint_studio.providers import IdeogramProvider

from .conftest import ellipse_mask

FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)


@pytest.fixture
def photo(data_dir):
    return load_image(data_dir / "coffee.png")


@pytest.fixture
def req(photo):
    return EditRequest(
        prompt="a silver teaspoon", photo=photo, mask=ellipse_mask(400, 600, 280, 370, 50, 40)
    )


async def run(server, request, *, api_key=None, timeout=None, retry=FAST):
    async with httpx.AsyncClient(timeout=timeout or httpx.Timeout(20.0)) as client:
        provider = IdeogramProvider(
            client, api_key=api_key or server.api_key, base_url=server.base_url, retry=retry
        )
        stages = []
        runner = JobRunner(client, listener=lambda j: stages.append((j.stage, j.done, j.total)))
        job = runner.submit(request, provider)
        await runner.wait(job)
        job.stages = stages
        return job


@pytest.mark.asyncio
async def test_every_field_reaches_the_server(server, req, data_dir):
    r = replace(
        req,
        rendering_speed=RenderingSpeed.QUALITY,
        magic_prompt=MagicPrompt.ON,
        style_type=StyleType.GENERAL,
        style_preset="WATERCOLOR",
        color_palette=ColorPalette(members=(PaletteMember("#aa3300", 0.9), PaletteMember("#fff"))),
        seed=4242,
        num_images=2,
    )
    job = await run(server, r)
    assert job.stage == Stage.DONE, job.error
    sent = server.edit_requests[0]
    assert sent.headers["api-key"] == server.api_key
    assert sent.value("prompt") == "a silver teaspoon"
    assert sent.value("rendering_speed") == "QUALITY"
    assert sent.value("magic_prompt") == "ON"
    assert sent.value("style_type") == "GENERAL"
    assert sent.value("style_preset") == "WATERCOLOR"
    assert sent.value("num_images") == "2" and sent.value("seed") == "4242"
    pal = sent.get("color_palette")[0]
    assert pal.content_type == "application/json"
    assert json.loads(pal.text) == {
        "members": [{"color_hex": "#aa3300", "color_weight": 0.9}, {"color_hex": "#fff"}]
    }
    assert sent.value("negative_prompt") is None and sent.value("style_codes") is None
    # image and mask: same size, mask black = edit at the right place
    img = Image.open(io.BytesIO(sent.get("image")[0].data))
    mask = np.asarray(Image.open(io.BytesIO(sent.get("mask")[0].data)).convert("L"))
    assert img.size == (600, 400) and img.format == "PNG"  # lossless fits the 1.5 MB budget
    assert mask[280, 370] == 0 and mask[10, 10] == 255
    # two variants, with the returned (MagicPrompt) prompt and seeds
    assert [v.seed for v in job.variants] == [4242, 4243]
    assert job.variants[0].prompt == "A detailed photo: a silver teaspoon"
    assert job.variants[0].resolution == "1216x832"  # the server snaps like Ideogram
    # results downloaded without credentials
    assert len(server.downloads) == 2
    assert all(
        "api-key" not in d.headers and "authorization" not in d.headers for d in server.downloads
    )
    # composited: outside the mask untouched, inside the server's colour
    for v in job.variants:
        from inpaint_studio.core.pipeline.composite import apply_layer

        out = apply_layer(req.photo.rgb, v.layer)
        assert np.array_equal(out[~req.mask], req.photo.rgb[~req.mask])
        colour = np.random.default_rng(v.seed).integers(0, 256, 3, dtype=np.uint8).astype(int)
        assert np.abs(out[280, 370].astype(int) - colour).max() <= 3
    # progress went through the stages with upload bytes
    stages = [s for s, _, _ in job.stages]
    for stage in (
        Stage.PREPARING,
        Stage.UPLOADING,
        Stage.WAITING,
        Stage.DOWNLOADING,
        Stage.COMPOSITING,
        Stage.DONE,
    ):
        assert stage in stages
    uploads = [(d, t) for s, d, t in job.stages if s == Stage.UPLOADING and t]
    assert uploads[-1][0] == uploads[-1][1]
    assert job.sent["image"]["format"] == "PNG" and job.sent["image"]["bytes"] > 100_000


@pytest.mark.asyncio
async def test_style_codes_and_references_as_parts(server, req, data_dir):
    r = replace(req, style_codes=("0A1B2C3D", "DEADBEEF"))
    job = await run(server, r)
    assert job.stage == Stage.DONE, job.error
    assert [p.text for p in server.edit_requests[0].get("style_codes")] == ["0A1B2C3D", "DEADBEEF"]
    refs = (load_reference(data_dir / "rocket.jpg"), load_reference(data_dir / "chelsea.png"))
    char = load_reference(data_dir / "astronaut.png")
    r2 = replace(
        req,
        style_references=refs,
        character_references=(char,),
        color_palette=ColorPalette(name="PASTEL"),
    )
    job2 = await run(server, r2)
    assert job2.stage == Stage.DONE, job2.error
    sent = server.edit_requests[1]
    parts = sent.get("style_reference_images")
    assert [(p.filename, p.content_type) for p in parts] == [
        ("rocket.jpg", "image/jpeg"),
        ("chelsea.png", "image/png"),
    ]
    assert parts[0].data == (data_dir / "rocket.jpg").read_bytes()
    assert sent.get("character_reference_images")[0].filename == "astronaut.png"
    assert json.loads(sent.value("color_palette")) == {"name": "PASTEL"}


@pytest.mark.asyncio
async def test_unsupported_field_refused_before_sending(server, req):
    with pytest.raises(ValidationError, match="does not support a negative prompt"):
        await run(server, replace(req, negative_prompt="blurry"))
    assert server.requests == []


@pytest.mark.asyncio
async def test_401_bad_key(server, req):
    job = await run(server, req, api_key="wrong-key")
    assert isinstance(job.error, AuthenticationError)
    assert "refused the API key" in str(job.error)
    assert "wrong-key" not in str(job.error) and "wrong-key" not in job.error.details


@pytest.mark.asyncio
async def test_missing_key(server, req):
    async with httpx.AsyncClient() as client:
        provider = IdeogramProvider(client, base_url=server.base_url)
        runner = JobRunner(client)
        job = runner.submit(req, provider)
        await runner.wait(job)
    assert isinstance(job.error, MissingKeyError)
    assert server.requests == []


@pytest.mark.asyncio
async def test_429_then_success(server, req):
    server.script = [
        (
            429,
            {
                "error": "Too many in flight",
                "reject_reason": "inflight_limit",
                "max_inflight_requests": 10,
            },
            {"Retry-After": "0"},
        )
    ]
    job = await run(server, req)
    assert job.stage == Stage.DONE, job.error
    assert len([r for r in server.requests if r.method == "POST"]) == 2


@pytest.mark.asyncio
async def test_429_retries_are_bounded(server, req):
    body = {"error": "Too many", "reject_reason": "inflight_limit", "max_inflight_requests": 10}
    server.script = [(429, body, {"Retry-After": "0"})] * 10
    job = await run(server, req)
    assert isinstance(job.error, RateLimitedError)
    assert job.error.reject_reason == "inflight_limit"
    assert "10 images in flight" in str(job.error)
    assert len(server.requests) == FAST.attempts


@pytest.mark.asyncio
async def test_503_then_success(server, req):
    server.script = [
        (503, {"error": "Service Unavailable"}, {}),
        (502, {"error": "Bad gateway"}, {}),
    ]
    job = await run(server, req)
    assert job.stage == Stage.DONE, job.error
    assert len([r for r in server.requests if r.method == "POST"]) == 3


@pytest.mark.asyncio
async def test_500_is_not_retried(server, req):
    server.script = [(500, {"error": "boom"}, {})]
    job = await run(server, req)
    assert isinstance(job.error, ServerError) and "server error (HTTP 500)" in str(job.error)
    assert len(server.requests) == 1


@pytest.mark.asyncio
async def test_402_out_of_credits(server, req):
    server.script = [(402, {"error": "Insufficient credits", "reject_reason": "credits"}, {})]
    job = await run(server, req)
    assert isinstance(job.error, OutOfCreditsError)
    assert "out of credits" in str(job.error) and "Insufficient credits" in str(job.error)


@pytest.mark.asyncio
async def test_422_safety_refusal(server, req):
    job = await run(server, replace(req, prompt="something forbidden"))
    assert isinstance(job.error, SafetyRefusalError)
    assert (
        str(job.error)
        == "Ideogram 3.0's safety filter refused this request: Prompt failed the safety check."
    )
    assert job.error.exit_code == 1


@pytest.mark.asyncio
async def test_unsafe_variant_is_reported_and_others_kept(server, req):
    job = await run(server, replace(req, prompt="a cup unsafe-first", num_images=3))
    assert job.stage == Stage.DONE, job.error
    assert [v.safe for v in job.variants] == [False, True, True]
    assert job.variants[0].layer is None and job.variants[1].layer is not None
    assert len(server.downloads) == 2


@pytest.mark.asyncio
async def test_all_unsafe(server, req):
    job = await run(server, replace(req, prompt="unsafe-all", num_images=2))
    assert isinstance(job.error, AllWithheldError) and job.error.exit_code == 3
    assert [v.safe for v in job.variants] == [False, False]


@pytest.mark.asyncio
async def test_result_link_that_404s(server, req):
    job = await run(server, replace(req, prompt="expired-link"))
    assert isinstance(job.error, DownloadError)
    assert "may have expired" in str(job.error)


@pytest.mark.asyncio
async def test_the_documented_inpaint_route_first_and_edit_when_it_is_gone(server, req):
    job = await run(server, req)
    assert job.stage == Stage.DONE, job.error
    assert [r.path for r in server.requests if r.method == "POST"] == ["/v1/ideogram-v3/inpaint"]
    server.requests.clear()
    server.inpaint_gone = True
    job = await run(server, req)
    assert job.stage == Stage.DONE, job.error
    assert [r.path for r in server.requests if r.method == "POST"] == [
        "/v1/ideogram-v3/inpaint",
        "/v1/ideogram-v3/edit",
    ]


@pytest.mark.asyncio
async def test_answer_timeout_after_upload_is_not_resent(server, req):
    server.hang_after_upload = 1.5
    job = await run(server, req, timeout=httpx.Timeout(5.0, read=0.5))
    assert isinstance(job.error, MaybeBilledError)
    assert "may have run and been billed" in str(job.error)
    assert len(server.requests) == 1


@pytest.mark.asyncio
async def test_unreachable_server_is_a_network_error(req):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    async with httpx.AsyncClient() as client:
        provider = IdeogramProvider(
            client, api_key="k", base_url=f"http://127.0.0.1:{port}", retry=FAST
        )
        runner = JobRunner(client)
        job = runner.submit(req, provider)
        await runner.wait(job)
    assert "Cannot reach Ideogram 3.0" in str(job.error)


@pytest.mark.asyncio
async def test_cancel_while_waiting(server, req):
    import asyncio

    server.hang_after_upload = 3
    async with httpx.AsyncClient() as client:
        provider = IdeogramProvider(
            client, api_key=server.api_key, base_url=server.base_url, retry=FAST
        )
        runner = JobRunner(client)
        job = runner.submit(req, provider)
        for _ in range(200):
            await asyncio.sleep(0.02)
            if job.stage == Stage.WAITING:
                break
        runner.cancel(job)
        await runner.wait(job)
    assert job.stage == Stage.CANCELLED


def test_plain_http_only_on_loopback():
    assert check_url("http://127.0.0.1:8080/x")
    assert check_url("http://localhost/x")
    assert check_url("https://api.ideogram.ai")
    with pytest.raises(InsecureURLError, match="plain http"):
        check_url("http://api.ideogram.ai")


def test_base_url_from_environment(monkeypatch):
    monkeypatch.setenv("IDEOGRAM_BASE_URL", "http://127.0.0.1:9/")
    p = IdeogramProvider(httpx.AsyncClient())
    assert p.base_url == "http://127.0.0.1:9"
    assert (
        IdeogramProvider(httpx.AsyncClient(), base_url="https://x.example").base_url
        == "https://x.example"
    )


@pytest.mark.asyncio
async def test_result_link_that_redirects_is_followed_without_credentials(server, req):
    job = await run(server, replace(req, prompt="redirect-link"))
    assert job.stage == Stage.DONE, job.error
    gets = [r for r in server.requests if r.method == "GET"]
    assert [g.path.split("/")[1] for g in gets] == ["go", "results"]
    assert all("api-key" not in g.headers for g in gets)


@pytest.mark.asyncio
async def test_large_photo_uploads_at_the_answer_size_and_the_result_is_exact_outside(
    server, data_dir
):
    """Issue 13 end to end: a 5 % mask on an 8.6 MP photo sends ~1 MP (lossless WebP or PNG
    within 1.5 MB, or JPEG); the server takes it; outside the mask the result is the photo."""
    from inpaint_studio.core.pixels.imaging import Photo

    big = np.ascontiguousarray(np.tile(load_image(data_dir / "coffee.png").rgb, (6, 6, 1)))
    mask = ellipse_mask(2400, 3600, 1200, 1800, 330, 470)
    job = await run(
        server, EditRequest(prompt="a moon", photo=Photo(rgb=big), mask=mask, num_images=1)
    )
    assert job.finished_ok, job.error
    sent = server.edit_requests[-1].get("image")[0]
    img = Image.open(io.BytesIO(sent.data))
    assert img.width * img.height <= 1.6e6 and len(sent.data) <= 1_500_000
    assert img.format == job.sent["image"]["format"]
    layer = job.variants[0].layer
    out = big.copy()
    from inpaint_studio.core.pipeline.composite import blend_into

    blend_into(out, layer)
    assert np.array_equal(out[~mask], big[~mask])
