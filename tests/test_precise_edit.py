"""Precise Edit with Ideogram 4.5 against a loopback server implementing the v2 contract
(shared/docs/providers.md, "Ideogram API v2"): full resolution 1:1, quality, references,
async generations polled to the end, dry_run prices, errors."""

from __future__ import annotations

import io
from dataclasses import replace

import httpx
import numpy as np
import pytest
from PIL import Image

from inpaint_studio.core.errors import (
    InvalidRequestError,
    OutOfCreditsError,
    ValidationError,
)
from inpaint_studio.core.pipeline.composite import apply_layer
from inpaint_studio.core.pipeline.jobs import JobRunner
from inpaint_studio.core.pipeline.net import RetryPolicy
from inpaint_studio.core.pipeline.protocol import Stage
from inpaint_studio.core.pipeline.request import (
    ContextMode,
    EditRequest,
    MagicPrompt,
    Quality,
    RenderingSpeed,
    StyleType,
)
from inpaint_studio.core.pixels.imaging import Photo, load_image, load_reference
from inpaint_studio.providers import IdeogramProvider
from inpaint_studio.providers.base import PollPolicy

from .conftest import ellipse_mask

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)
POLL = PollPolicy(first=0.02, factor=1.5, longest=0.1, timeout=20)


def provider(client, server, model="ideogram-4.5", **kw):
    return IdeogramProvider(
        client,
        api_key=server.api_key,
        base_url=server.base_url,
        retry=FAST,
        model=model,
        poll=POLL,
        **kw,
    )


async def run(server, request, model="ideogram-4.5", persist=None):
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as client:
        runner = JobRunner(client, persist_tasks=persist)
        job = runner.submit(request, provider(client, server, model))
        await runner.wait(job)
        return job


@pytest.fixture
def big_photo(data_dir) -> Photo:
    """The rocket photo at 4× (2560×1708 = 4.37 MP): larger than Precise Edit edits at once."""
    img = Image.open(data_dir / "rocket.jpg").convert("RGB")
    img = img.resize((img.width * 4, img.height * 4), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return load_image(buf.getvalue())


def exact(request: EditRequest) -> EditRequest:
    """No feather, no colour match: the layer's pixels are the model's."""
    return replace(request, feather=0, colour_match=False)


@pytest.mark.asyncio
async def test_a_region_that_fits_is_sent_at_scale_1_and_lands_1_to_1(server, big_photo):
    mask = ellipse_mask(1708, 2560, 900, 1300, 120, 160)
    req = exact(EditRequest(prompt="a red balloon", photo=big_photo, mask=mask, seed=7))
    job = await run(server, req)
    assert job.stage == Stage.DONE, job.error
    sent = server.edit_requests[0]
    img = Image.open(io.BytesIO(sent.get("image")[0].data))
    region = job.prepared.region
    assert region.scale == 1.0 and img.size == (region.width, region.height)
    assert img.width * img.height <= 4_194_304
    # the answer is the model's colour inside the mask, exactly, and the photo outside it
    out = apply_layer(big_photo.rgb, job.variants[0].layer)
    colour = np.random.default_rng(7).integers(0, 256, 3, dtype=np.uint8)
    assert (out[mask] == colour).all()
    assert np.array_equal(out[~mask], big_photo.rgb[~mask])
    assert not job.variants[0].extra.get("grain")  # nothing synthesised at 1:1
    assert sent.value("async") == "true" and sent.value("seed") == "7"
    assert sent.value("rendering_speed") is None and sent.value("quality") is None


@pytest.mark.asyncio
async def test_a_larger_region_is_scaled_to_fit_and_mapped_back(server, big_photo):
    mask = ellipse_mask(1708, 2560, 850, 1280, 600, 900)
    req = EditRequest(prompt="a red balloon", photo=big_photo, mask=mask, context=ContextMode.FULL)
    job = await run(server, req)
    assert job.stage == Stage.DONE, job.error
    img = Image.open(io.BytesIO(server.edit_requests[0].get("image")[0].data))
    assert img.width * img.height <= 4_194_304 < big_photo.rgb.shape[0] * big_photo.rgb.shape[1]
    out = apply_layer(big_photo.rgb, job.variants[0].layer)
    assert out.shape == big_photo.rgb.shape
    assert np.array_equal(out[~mask], big_photo.rgb[~mask])  # outside the mask: untouched


@pytest.mark.asyncio
async def test_quality_and_references_reach_the_server_and_the_generation_is_kept_first(
    server, data_dir
):
    photo = load_image(data_dir / "coffee.png")
    refs = tuple(load_reference(data_dir / n) for n in ("chelsea.png", "astronaut.png"))
    req = EditRequest(
        prompt="a silver spoon",
        photo=photo,
        mask=ellipse_mask(400, 600, 280, 370, 50, 40),
        quality=Quality.LOW,
        references=refs,
        num_images=2,
    )
    server.pending_polls = 3
    seen: list[tuple[str, int]] = []

    async def persist(job):  # kept before any poll: the server has not been asked yet
        seen.append((job.prepared.remote_tasks[-1].task_id, server.generation_polls))

    job = await run(server, req, persist=persist)
    assert job.stage == Stage.DONE, job.error
    sent = server.edit_requests[0]
    assert sent.value("quality") == "low" and len(sent.get("reference_images")) == 2
    assert [r.filename for r in sent.get("reference_images")] == ["chelsea.png", "astronaut.png"]
    ((ident, polls_then),) = seen
    assert polls_then == 0 and ident in server.generations
    assert server.generation_polls == 4  # three pending, then completed
    assert len(job.variants) == 2 and all(v.layer is not None for v in job.variants)


@pytest.mark.asyncio
async def test_fields_precise_edit_does_not_take_are_refused_by_name(server, data_dir):
    photo = load_image(data_dir / "coffee.png")
    base = EditRequest(prompt="x", photo=photo, mask=ellipse_mask(400, 600, 280, 370, 50, 40))
    ref = load_reference(data_dir / "chelsea.png")
    cases = {
        "rendering_speed": replace(base, rendering_speed=RenderingSpeed.TURBO),
        "style_type": replace(base, style_type=StyleType.REALISTIC),
        "style_preset": replace(base, style_preset="WATERCOLOR"),
        "magic_prompt": replace(base, magic_prompt=MagicPrompt.ON),
        "references": replace(base, references=(ref,) * 4),
        "mask": replace(base, mask=np.ones((400, 600), bool)),
    }
    for field, req in cases.items():
        with pytest.raises(ValidationError) as err:
            await run(server, req)
        assert field in [p.field for p in err.value.problems], field
    assert "quality" in str(
        next(p for p in _problems(cases["rendering_speed"]) if p.field == "rendering_speed")
    )
    assert "3 reference images" in str(_problems(cases["references"]))
    assert "unmasked" in str(_problems(cases["mask"]))
    assert server.requests == []  # nothing was sent


def _problems(req):
    from inpaint_studio.core.pipeline.params import check

    caps = IdeogramProvider.description.resolve({"model": "ideogram-4.5"})[1]
    try:
        check(req, caps, "Ideogram 4.5 Precise Edit")
    except ValidationError as exc:
        return exc.problems
    return []


@pytest.mark.asyncio
async def test_a_failed_generation_says_so_and_a_402_names_its_reason(server, data_dir):
    photo = load_image(data_dir / "coffee.png")
    req = EditRequest(
        prompt="fail-generation", photo=photo, mask=ellipse_mask(400, 600, 280, 370, 50, 40)
    )
    job = await run(server, req)
    assert isinstance(job.error, InvalidRequestError)
    assert "may be run again" in job.error.message and "not billed" in job.error.message
    server.script.append((402, {"error": "Payment required", "reject_reason": "daily_limit"}, {}))
    job = await run(server, replace(req, prompt="a cup"))
    assert isinstance(job.error, OutOfCreditsError)
    assert "daily spending limit" in job.error.message and job.error.exit_code == 1


@pytest.mark.asyncio
async def test_4_6_where_it_is_not_offered_names_4_5(server, data_dir):
    photo = load_image(data_dir / "coffee.png")
    req = EditRequest(prompt="a cup", photo=photo, mask=ellipse_mask(400, 600, 280, 370, 50, 40))
    job = await run(server, req, model="ideogram-4.6")
    assert isinstance(job.error, InvalidRequestError)
    assert "Ideogram 4.5" in job.error.message and "404" in job.error.message
    server.v46_available = True
    job = await run(server, req, model="ideogram-4.6")
    assert job.stage == Stage.DONE, job.error
    assert server.edit_requests[-1].path == "/v2/image/precise-edit/ideogram-4-6"


@pytest.mark.asyncio
async def test_dry_run_prices_exactly_and_bills_nothing(server, data_dir):
    from inpaint_studio.cli.paid import quote_job

    photo = load_image(data_dir / "coffee.png")
    req = EditRequest(
        prompt="a cup",
        photo=photo,
        mask=ellipse_mask(400, 600, 280, 370, 50, 40),
        num_images=4,
        quality=Quality.MEDIUM,
    )
    async with httpx.AsyncClient() as client:
        q = await quote_job(provider(client, server), req)
        assert q.exact and q.usd == pytest.approx(0.24) and q.text() == "$0.24 · 4 × medium"
        assert server.dry_runs == 1 and server.generations == {}
        assert "dry_run=true" in server.edit_requests[0].path
        # Ideogram 3.0: the published table, said to be an estimate
        q3 = await quote_job(provider(client, server, "ideogram-3"), replace(req, quality=None))
        assert not q3.exact and q3.usd == pytest.approx(0.24) and q3.text().startswith("≈ $0.24")
        assert server.dry_runs == 1 and len(server.edit_requests) == 1


@pytest.mark.asyncio
async def test_cancel_says_whether_the_request_may_still_be_billed(server, data_dir):
    from inpaint_studio.core.errors import JobCancelledError

    from .support.waiting import until

    photo = load_image(data_dir / "coffee.png")
    req = EditRequest(prompt="a cup", photo=photo, mask=ellipse_mask(400, 600, 280, 370, 50, 40))
    server.pending_polls = 10**9
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as client:
        runner = JobRunner(client)
        early = runner.submit(req, provider(client, server))
        runner.cancel(early)  # before anything left this computer
        await runner.wait(early)
        assert isinstance(early.error, JobCancelledError)
        assert "nothing was billed" in early.error.message and server.generations == {}
        late = runner.submit(req, provider(client, server))
        await until(lambda: late.prepared is not None and late.prepared.remote_tasks)
        runner.cancel(late)
        await runner.wait(late)
        ident = late.prepared.remote_tasks[0].task_id
        assert "may still run it and bill it" in late.error.message
        assert f"inpaint-studio resume {ident} --provider ideogram" in late.error.message
