"""Issue 17: every provider's answer parsing, fed generated answers through its loopback server.

The honest answer is made first (so result links are real), then one place in it — any key
at any depth, or the whole answer — is replaced by generated JSON (wrong types, huge and
unicode-digit strings, NaN and infinities, nested junk) or removed. Whatever comes back, a
job ends with its results or with one sentence (a provider failure): never a crash report,
never an exception out of the runner, never a hang.
"""

from __future__ import annotations

import asyncio
import math
import os

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inpaint_studio.core.errors import InpaintError
from inpaint_studio.core.pipeline.jobs import JobRunner
from inpaint_studio.core.pipeline.protocol import Stage
from inpaint_studio.core.pipeline.request import EditRequest, RenderingSpeed
from inpaint_studio.core.pixels.imaging import load_image
from inpaint_studio.providers import (
    CometApiProvider,
    IdeogramProvider,
    IdeogramV2Provider,
    MagnificProvider,
    OneMinProvider,
)
from inpaint_studio.providers.base import PollPolicy

from .conftest import ellipse_mask
from .servers import IdeogramServer, MagnificServer, OneMinServer
from .test_providers import FAST

#: examples per provider; INPAINT_STUDIO_FUZZ_EXAMPLES runs more (see the README)
EXAMPLES = int(os.environ.get("INPAINT_STUDIO_FUZZ_EXAMPLES", "20"))
POLL = PollPolicy(first=0.01, factor=1.5, longest=0.05, timeout=1.0)

odd_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "²",
            "١٢٣",
            "1e400",
            "NaN",
            "-1",
            "4294967296",
            "true",
            "false",
            "null",
            "\x1b[2J",
            "../../x",
            "COMPLETED",
            "SUCCESS",
            "FAILED",
            "FAILURE",
            "PROCESSING",
            "http://169.254.169.254/x",
            "file:///etc/passwd",
            "a" * 5000,
        ]
    ),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    odd_text,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(odd_text, inner, max_size=4)
    ),
    max_leaves=12,
)


def paths(value, prefix=()) -> list[tuple]:
    """Every place in a JSON value: the value itself and each key or index below it."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, (*prefix, i))
    return out


def bend(answer, choice: int, action: str, value):
    """``answer`` with the place picked by ``choice`` replaced by ``value`` (or removed)."""
    where = paths(answer)[choice % len(paths(answer))]
    if not where:
        return value
    parent = answer
    for step in where[:-1]:
        parent = parent[step]
    if action == "remove":
        if isinstance(parent, dict):
            del parent[where[-1]]
        else:
            parent.pop(where[-1])
    else:
        parent[where[-1]] = value
    return answer


SERVERS = {
    "ideogram": (
        lambda: IdeogramServer(),
        lambda c, s: IdeogramProvider(c, api_key=s.api_key, base_url=s.base_url, retry=FAST),
    ),
    "ideogram-4.5": (  # the async create answer, then each generation look-up
        lambda: IdeogramServer(),
        lambda c, s: IdeogramProvider(
            c, api_key=s.api_key, base_url=s.base_url, retry=FAST, poll=POLL, model="ideogram-4.5"
        ),
    ),
    "ideogram-v2": (
        lambda: IdeogramServer(),
        lambda c, s: IdeogramV2Provider(c, api_key=s.api_key, base_url=s.base_url, retry=FAST),
    ),
    "cometapi": (
        lambda: IdeogramServer(auth="bearer", prefix="/ideogram"),
        lambda c, s: CometApiProvider(c, api_key=s.api_key, base_url=s.base_url, retry=FAST),
    ),
    "magnific": (
        lambda: MagnificServer(),
        lambda c, s: MagnificProvider(
            c, api_key=s.api_key, base_url=s.base_url, retry=FAST, poll=POLL
        ),
    ),
    "1min": (
        lambda: OneMinServer(),
        lambda c, s: OneMinProvider(
            c, api_key=s.api_key, base_url=s.base_url, retry=FAST, poll=POLL
        ),
    ),
}


@pytest.fixture(scope="module")
def servers():
    """One running server per provider for the whole module (starting one per example costs
    half a second in its shutdown alone)."""
    running: dict = {}
    yield running
    for srv in running.values():
        srv.stop()


@pytest.fixture(scope="module")
def photo(data_dir_module):
    return load_image(data_dir_module / "coffee.png")


@pytest.fixture(scope="module")
def data_dir_module():
    from .conftest import DATA

    return DATA


@pytest.mark.parametrize("name", list(SERVERS))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    choice=st.integers(min_value=0, max_value=10_000),
    action=st.sampled_from(["replace", "remove"]),
    value=json_values,
    which=st.integers(min_value=0, max_value=3),
    n=st.integers(min_value=1, max_value=3),
)
def test_any_answer_gives_results_or_one_sentence(
    name, servers, photo, choice, action, value, which, n
):
    make_server, make_provider = SERVERS[name]
    if name not in servers:
        servers[name] = make_server().start()
    server = servers[name]
    seen = {"count": 0}
    # the Ideogram 3.0 routes answer once; tasks and generations are created, then polled
    which = which if name in ("magnific", "1min", "ideogram-4.5") else 0

    def mutate(method, path, answer):
        seen["count"] += 1
        if seen["count"] - 1 == which:  # bend the which-th answer of the job (create, poll, asset…)
            return bend(answer, choice, action, value)
        return answer

    server.mutate = mutate
    speed = RenderingSpeed.TURBO if name in ("ideogram-v2", "cometapi") else RenderingSpeed.DEFAULT
    if name == "ideogram-4.5":
        server.pending_polls = 1  # a pending answer, then the completed one
    request = EditRequest(
        prompt="a silver spoon",
        photo=photo,
        mask=ellipse_mask(400, 600, 280, 375, 45, 40),
        num_images=n,
        seed=7,
        rendering_speed=speed,
    )

    async def go():
        async with httpx.AsyncClient(timeout=10) as client:
            runner = JobRunner(client)
            job = runner.submit(request, make_provider(client, server))
            return await asyncio.wait_for(runner.wait(job), 30)

    try:
        job = asyncio.run(go())
    finally:
        server.mutate = None
    if job.stage == Stage.DONE:
        assert job.variants and len(job.variants) <= n
        for v in job.variants:
            assert v.seed is None or (isinstance(v.seed, int) and 0 <= v.seed <= 2_147_483_647)
            for text in (v.prompt, v.resolution, v.style_type):
                assert text is None or (
                    isinstance(text, str) and "\x1b" not in text and "\n" not in text
                )
    else:
        assert job.stage == Stage.FAILED, job.stage
        err = job.error
        assert isinstance(err, InpaintError) and err.exit_code in (1, 3), repr(err)
        assert "went wrong inside Inpaint Studio" not in str(err), err.details
        assert "\n" not in str(err) and "\x1b" not in str(err)
        assert "nan" not in str(err).lower().split() and not any(
            w in str(err) for w in ("Traceback", "KeyError", "TypeError", "AttributeError")
        )
    assert not math.isnan(job.elapsed)
