"""Ideogram 2.0, Magnific, 1min.ai and CometAPI, each against its own loopback server."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import replace

import httpx
import numpy as np
import pytest
from PIL import Image

from inpaint_studio.core.errors import (
    AuthenticationError,
    DownloadError,
    InvalidRequestError,
    ProviderTimeoutError,
    ServerError,
    ValidationError,
)
from inpaint_studio.core.pipeline.composite import apply_layer
from inpaint_studio.core.pipeline.jobs import JobRunner
from inpaint_studio.core.pipeline.net import RetryPolicy
from inpaint_studio.core.pipeline.protocol import Stage
from inpaint_studio.core.pipeline.request import (
    ColorPalette,
    EditRequest,
    MagicPrompt,
    RenderingSpeed,
    StyleType,
    style_presets,
)
from inpaint_studio.core.pixels.imaging import load_image, load_reference
from inpaint_studio.providers import (
    CometApiProvider,
    IdeogramV2Provider,
    MagnificProvider,
    OneMinProvider,
    create_provider,
)
from inpaint_studio.providers.base import PollPolicy

from .conftest import ellipse_mask
from .servers import IdeogramServer, MagnificServer, OneMinServer

FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)
QUICK_POLL = PollPolicy(first=0.01, factor=1.5, longest=0.05, timeout=5.0)


@pytest.fixture
def req(data_dir):
    photo = load_image(data_dir / "coffee.png")
    return EditRequest(
        prompt="a silver teaspoon",
        photo=photo,
        mask=ellipse_mask(400, 600, 280, 370, 50, 40),
        seed=100,
    )


async def run(provider_factory, request):
    async with httpx.AsyncClient(timeout=httpx.Timeout(20.0)) as client:
        provider = provider_factory(client)
        runner = JobRunner(client)
        job = runner.submit(request, provider)
        await runner.wait(job)
        return job


def assert_composited(job, request):
    assert job.stage == Stage.DONE, job.error
    for v in job.variants:
        out = apply_layer(request.photo.rgb, v.layer)
        assert np.array_equal(out[~request.mask], request.photo.rgb[~request.mask])
        colour = (
            np.random.default_rng(v.seed).integers(0, 256, 3, dtype=np.uint8).astype(int)
            if v.seed is not None
            else None
        )
        if colour is not None:
            assert np.abs(out[280, 370].astype(int) - colour).max() <= 3


def no_credentials(server):
    return all(not any(h in d.headers for h in server.credential_headers) for d in server.downloads)


# --- Ideogram 2.0 ------------------------------------------------------------------------


@pytest.fixture
def ideogram():
    srv = IdeogramServer(presets=style_presets()).start()
    yield srv
    srv.stop()


@pytest.mark.asyncio
async def test_v2_fields_and_model_by_speed(ideogram, req):
    r = replace(
        req,
        rendering_speed=RenderingSpeed.TURBO,
        style_type=StyleType.RENDER_3D,
        magic_prompt=MagicPrompt.OFF,
        num_images=2,
    )
    job = await run(
        lambda c: IdeogramV2Provider(
            c, api_key=ideogram.api_key, base_url=ideogram.base_url, retry=FAST
        ),
        r,
    )
    assert_composited(job, r)
    sent = ideogram.edit_requests[0]
    assert sent.path == "/edit" and sent.headers["api-key"] == ideogram.api_key
    assert sent.value("model") == "V_2_TURBO" and sent.value("style_type") == "RENDER_3D"
    assert (
        sent.value("magic_prompt_option") == "OFF"
        and sent.value("num_images") == "2"
        and sent.value("seed") == "100"
    )
    assert sent.get("image_file") and not sent.get("image")
    assert [v.seed for v in job.variants] == [100, 101] and no_credentials(ideogram)
    job2 = await run(
        lambda c: IdeogramV2Provider(c, api_key=ideogram.api_key, base_url=ideogram.base_url), req
    )
    assert job2.stage == Stage.DONE and ideogram.edit_requests[1].value("model") == "V_2"


@pytest.mark.asyncio
async def test_v2_refuses_what_it_cannot_take(ideogram, req, data_dir):
    ref = load_reference(data_dir / "rocket.jpg")
    bad = replace(
        req,
        rendering_speed=RenderingSpeed.QUALITY,
        style_references=(ref,),
        style_preset="WATERCOLOR",
        color_palette=ColorPalette(name="EMBER"),
        style_codes=("0A1B2C3D",),
    )
    with pytest.raises(ValidationError) as exc:
        await run(lambda c: IdeogramV2Provider(c, api_key="k", base_url=ideogram.base_url), bad)
    fields = {p.field for p in exc.value.problems}
    assert {
        "rendering_speed",
        "style_references",
        "style_preset",
        "color_palette",
        "style_codes",
    } <= fields
    assert ideogram.requests == []


# --- CometAPI -----------------------------------------------------------------------------


@pytest.fixture
def comet():
    srv = IdeogramServer(
        api_key="comet-key-42", presets=style_presets(), auth="bearer", prefix="/ideogram"
    ).start()
    yield srv
    srv.stop()


@pytest.mark.asyncio
async def test_cometapi_v3_route_with_bearer(comet, req):
    r = replace(
        req, style_preset="WATERCOLOR", color_palette=ColorPalette(name="PASTEL"), num_images=2
    )
    job = await run(
        lambda c: CometApiProvider(c, api_key=comet.api_key, base_url=comet.base_url, retry=FAST), r
    )
    assert_composited(job, r)
    sent = comet.edit_requests[0]
    assert sent.path == "/ideogram/v1/ideogram-v3/edit"
    assert sent.headers["authorization"] == "Bearer comet-key-42"
    assert sent.value("style_preset") == "WATERCOLOR" and json.loads(
        sent.value("color_palette")
    ) == {"name": "PASTEL"}
    assert no_credentials(comet)


@pytest.mark.asyncio
async def test_cometapi_v2_model_and_bad_key(comet, req):
    r = replace(req, rendering_speed=RenderingSpeed.TURBO, style_type=StyleType.ANIME)
    job = await run(
        lambda c: CometApiProvider(
            c, api_key=comet.api_key, base_url=comet.base_url, model="ideogram-2"
        ),
        r,
    )
    assert_composited(job, r)
    assert (
        comet.edit_requests[0].path == "/edit"
        and comet.edit_requests[0].value("model") == "V_2_TURBO"
    )
    with pytest.raises(ValidationError, match="style type ANIME"):
        await run(lambda c: CometApiProvider(c, api_key="x", base_url=comet.base_url), r)
    job = await run(lambda c: CometApiProvider(c, api_key="wrong", base_url=comet.base_url), req)
    assert isinstance(
        job.error, AuthenticationError
    ) and "CometAPI (Ideogram 3.0) refused the API key" in str(job.error)


# --- Magnific -----------------------------------------------------------------------------


@pytest.fixture
def magnific():
    srv = MagnificServer().start()
    yield srv
    srv.stop()


def magnific_provider(server, **kw):
    return lambda c: MagnificProvider(
        c, api_key=server.api_key, base_url=server.base_url, retry=FAST, poll=QUICK_POLL, **kw
    )


@pytest.mark.asyncio
async def test_magnific_tasks_per_variant_with_consecutive_seeds(magnific, req, data_dir):
    ref = load_reference(data_dir / "rocket.jpg")
    char = load_reference(data_dir / "astronaut.png")
    r = replace(
        req,
        num_images=3,
        rendering_speed=RenderingSpeed.QUALITY,
        magic_prompt=MagicPrompt.ON,
        style_type=StyleType.REALISTIC,
        character_references=(char,),
        color_palette=ColorPalette(name="JUNGLE"),
    )
    async with httpx.AsyncClient() as client:
        provider = magnific_provider(magnific, webhook_url="https://hooks.example/done")(client)
        runner = JobRunner(client)
        job = runner.submit(r, provider)
        await runner.wait(job)
    assert_composited(job, r)
    assert [p["seed"] for p in magnific.posts] == [100, 101, 102]
    body = magnific.posts[0]
    assert (
        body["rendering_speed"] == "QUALITY"
        and body["magic_prompt"] == "ON"
        and body["style_type"] == "REALISTIC"
    )
    assert (
        body["color_palette"] == {"name": "JUNGLE"}
        and body["webhook_url"] == "https://hooks.example/done"
    )
    assert base64.b64decode(body["character_reference_images"][0]) == char.data
    mask = np.asarray(Image.open(io.BytesIO(base64.b64decode(body["mask"]))).convert("L"))
    assert mask[280, 370] == 0 and mask[0, 0] == 255  # black = edit
    assert "num_images" not in body and "negative_prompt" not in body
    # task ids were kept for resuming, and polled through IN_PROGRESS
    assert [t.seed for t in job.prepared.remote_tasks] == [100, 101, 102]
    assert sum(1 for q in magnific.requests if q.method == "GET" and "/results/" not in q.path) >= 9
    assert [v.seed for v in job.variants] == [100, 101, 102] and no_credentials(magnific)
    r2 = replace(req, style_references=(ref,), style_codes=())
    job2 = await run(magnific_provider(magnific), r2)
    assert job2.stage == Stage.DONE, job2.error


@pytest.mark.asyncio
async def test_magnific_refusals_and_errors(magnific, req, data_dir):
    char = load_reference(data_dir / "astronaut.png")
    with pytest.raises(ValidationError) as exc:
        await run(
            magnific_provider(magnific),
            replace(
                req,
                character_references=(char,),
                rendering_speed=RenderingSpeed.FLASH,
                negative_prompt="x",
                style_preset="WATERCOLOR",
            ),
        )
    msgs = str(exc.value)
    assert "needs a style type when a character reference is given" in msgs
    assert "does not offer FLASH" in msgs and "negative prompt" in msgs and "style presets" in msgs
    assert magnific.requests == []
    # 503 then success; 401; FAILED task; problem+json with invalid_params
    magnific.script = [(503, {"message": "Service Unavailable. Please try again later."}, {})]
    assert (await run(magnific_provider(magnific), req)).stage == Stage.DONE
    job = await run(
        lambda c: MagnificProvider(c, api_key="nope", base_url=magnific.base_url, poll=QUICK_POLL),
        req,
    )
    assert isinstance(job.error, AuthenticationError)
    job = await run(magnific_provider(magnific), replace(req, prompt="fail-task please"))
    assert isinstance(job.error, InvalidRequestError) and "could not complete the edit" in str(
        job.error
    )
    magnific.script = [
        (
            400,
            {
                "title": "Invalid request",
                "invalid_params": [{"name": "prompt", "reason": "too long"}],
            },
            {"Content-Type": "application/problem+json"},
        )
    ]
    job = await run(magnific_provider(magnific), req)
    assert isinstance(job.error, InvalidRequestError) and "prompt: too long" in str(job.error)
    magnific.script = [(500, {"message": "Internal error"}, {})]
    job = await run(magnific_provider(magnific), req)
    assert isinstance(job.error, ServerError)


@pytest.mark.asyncio
async def test_magnific_poll_limit_and_freepik_header(req):
    srv = MagnificServer().start()
    try:
        srv.polls_before_done = 1000
        limit = PollPolicy(first=0.01, factor=1.0, longest=0.01, timeout=0.2)
        job = await run(
            lambda c: MagnificProvider(c, api_key=srv.api_key, base_url=srv.base_url, poll=limit),
            req,
        )
        assert isinstance(job.error, ProviderTimeoutError) and "inpaint-studio resume" in str(
            job.error
        )
        assert job.prepared.remote_tasks  # the id survives for a later resume
        # a base on api.freepik.com gets the old header name
        async with httpx.AsyncClient() as client:
            p = MagnificProvider(client, api_key="k", base_url="https://api.freepik.com")
            assert p.auth_headers() == {"x-freepik-api-key": "k", "Accept": "application/json"}
    finally:
        srv.stop()


@pytest.mark.asyncio
async def test_magnific_resume_command(magnific, req, tmp_path, monkeypatch):
    magnific.polls_before_done = 0
    job = await run(magnific_provider(magnific), req)
    task_id = job.prepared.remote_tasks[0].task_id
    import subprocess
    import sys

    env = dict(__import__("os").environ, MAGNIFIC_API_KEY=magnific.api_key)
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "inpaint_studio",
            "resume",
            task_id,
            "--provider",
            "magnific",
            "--base-url",
            magnific.base_url,
            "--out",
            str(tmp_path),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    paths = json.loads(res.stdout)["paths"]
    assert len(paths) == 1 and Image.open(paths[0]).size == (1216, 832)


# --- 1min.ai -----------------------------------------------------------------------------


@pytest.fixture
def onemin():
    srv = OneMinServer().start()
    yield srv
    srv.stop()


def onemin_provider(server):
    return lambda c: OneMinProvider(
        c, api_key=server.api_key, base_url=server.base_url, retry=FAST, poll=QUICK_POLL
    )


@pytest.mark.asyncio
async def test_onemin_assets_then_feature(onemin, req, data_dir):
    refs = tuple(load_reference(data_dir / n) for n in ("rocket.jpg", "chelsea.png"))
    r = replace(
        req,
        num_images=2,
        style_references=refs,
        negative_prompt="blurry",
        style_type=StyleType.GENERAL,
        style_preset="WATERCOLOR",
        rendering_speed=RenderingSpeed.FLASH,
        magic_prompt=MagicPrompt.AUTO,
    )
    with pytest.raises(ValidationError, match="style preset cannot be combined"):
        await run(onemin_provider(onemin), r)
    r = replace(r, style_preset=None)
    job = await run(onemin_provider(onemin), r)
    assert_composited(job, r)
    assert len(onemin.assets) == 4  # image, mask, two references
    po = onemin.features[0]["promptObject"]
    assert (
        onemin.features[0]["type"] == "IMAGE_INPAINTER"
        and onemin.features[0]["model"] == "ideogram-3"
    )
    assert (
        po["num_images"] == 2
        and po["negative_prompt"] == "blurry"
        and po["rendering_speed"] == "FLASH"
    )
    assert (
        po["seed"] == 100
        and po["magic_prompt"] == "AUTO"
        and len(po["style_reference_images"]) == 2
    )
    assert onemin.assets[po["style_reference_images"][0]] == refs[0].data
    mask = np.asarray(Image.open(io.BytesIO(onemin.assets[po["maskUrl"]])).convert("L"))
    assert mask[280, 370] == 0 and mask[0, 0] == 255  # white keep, black edit
    assert len(job.variants) == 2 and no_credentials(onemin)


@pytest.mark.asyncio
async def test_onemin_processing_is_polled_and_url_string_accepted(onemin, req):
    onemin.processing_polls = 3
    onemin.temporary_url_as_string = True
    job = await run(onemin_provider(onemin), replace(req, num_images=2))
    assert job.stage == Stage.DONE, job.error
    assert len(job.variants) == 1  # one link as a string: one image
    assert sum(1 for q in onemin.requests if q.path.startswith("/api/results/")) == 3
    assert job.prepared.remote_tasks and job.prepared.remote_tasks[0].provider == "1min"


@pytest.mark.asyncio
async def test_onemin_errors(onemin, req, data_dir):
    job = await run(onemin_provider(onemin), replace(req, prompt="fail-task"))
    assert isinstance(job.error, InvalidRequestError) and "Generation failed" in str(job.error)
    job = await run(
        lambda c: OneMinProvider(c, api_key="revoked", base_url=onemin.base_url, retry=FAST), req
    )
    assert isinstance(job.error, AuthenticationError)
    onemin.script = [
        (200, {"fileContent": {"path": "images/x.png"}}, {}),
        (200, {"fileContent": {"path": "images/y.png"}}, {}),
        (
            400,
            {"errorCode": "UNSUPPORTED_MODEL", "message": "Model ideogram-3 is not supported"},
            {},
        ),
    ]
    job = await run(onemin_provider(onemin), req)
    assert isinstance(job.error, InvalidRequestError)
    assert "Model ideogram-3 is not supported (UNSUPPORTED_MODEL)" in str(job.error)
    job = await run(onemin_provider(onemin), replace(req, prompt="expired-link"))
    assert isinstance(job.error, DownloadError)
    too_many = tuple(load_reference(data_dir / "rocket.jpg") for _ in range(6))
    with pytest.raises(ValidationError, match="at most 5 style reference images"):
        await run(onemin_provider(onemin), replace(req, style_references=too_many))


def test_every_provider_is_registered_with_the_cli():
    from inpaint_studio.providers import provider_names

    assert provider_names() == ["local", "ideogram", "ideogram-v2", "magnific", "1min", "cometapi"]

    async def build():
        async with httpx.AsyncClient() as c:
            return [create_provider(n, c, api_key="k").capabilities for n in provider_names()]

    import asyncio

    caps = asyncio.run(build())
    assert all(c.speeds for c in caps)


@pytest.mark.asyncio
async def test_remaining_fields_reach_each_server(magnific, onemin, req, data_dir):
    from inpaint_studio.core.pipeline.request import PaletteMember

    ref = load_reference(data_dir / "rocket.jpg")
    r = replace(
        req,
        style_codes=("0A1B2C3D", "DEADBEEF"),
        magic_prompt=MagicPrompt.OFF,
        color_palette=ColorPalette(members=(PaletteMember("#112233", 0.6), PaletteMember("#abc"))),
    )
    job = await run(magnific_provider(magnific), r)
    assert job.stage == Stage.DONE, job.error
    body = magnific.posts[-1]
    assert body["style_codes"] == ["0A1B2C3D", "DEADBEEF"] and body["magic_prompt"] == "OFF"
    assert body["color_palette"] == {
        "members": [{"color_hex": "#112233", "color_weight": 0.6}, {"color_hex": "#abc"}]
    }
    assert "style_type" not in body and "seed" in body
    r2 = replace(req, style_references=(ref,), style_type=StyleType.GENERAL)
    job2 = await run(magnific_provider(magnific), r2)
    assert job2.stage == Stage.DONE, job2.error
    assert base64.b64decode(magnific.posts[-1]["style_reference_images"][0]) == ref.data
    char = load_reference(data_dir / "astronaut.png")
    r3 = replace(
        req, style_preset="OIL_PAINTING", character_references=(char,), style_type=StyleType.AUTO
    )
    job3 = await run(onemin_provider(onemin), r3)
    assert job3.stage == Stage.DONE, job3.error
    po = onemin.features[-1]["promptObject"]
    assert po["style_preset"] == "OIL_PAINTING" and po["style_type"] == "AUTO"
    assert onemin.assets[po["character_reference_images"][0]] == char.data
