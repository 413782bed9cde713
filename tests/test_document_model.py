"""Issue 17: the editing session proved with a model, not with cases.

A Hypothesis ``RuleBasedStateMachine`` drives an :class:`EditSession` headless against the
loopback servers (Ideogram 3.0, Magnific, 1min.ai) and the offline engine: open a photo,
paint or erase a stroke, invert, generate 1–3 variants, show, select, accept, discard,
discard others, render the final of a draft, re-blend, Expand on any side, undo, redo,
save + reopen, crash + restore from the recovery copy, undo everything (and redo it).

After every step the invariants hold:

- a save + reopen, and a restore of the recovery copy, give the same layers (ids, pixels,
  visibility, opacity), selection, the layers keys 1–8 flip through, history (job ids,
  stages, parameters, mask sizes), mask and a bit-identical composite;
- ``project info`` accepts every file the program wrote;
- the composite equals the working image wherever no visible layer is drawn, and a layer is
  drawn only inside the mask of the job that made it;
- (rule "undo everything") undoing every step returns the photo, its size and the mask as
  they were opened, and redoing them returns the composite as it was.

CI runs a bounded number of examples; ``INPAINT_STUDIO_MODEL_EXAMPLES`` (and
``INPAINT_STUDIO_MODEL_STEPS``) run more, e.g. nightly: see the README.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

import httpx
import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from inpaint_studio.core.document.session import EditSession
from inpaint_studio.core.errors import InpaintError
from inpaint_studio.core.formats.journal import Journal
from inpaint_studio.core.formats.project_reader import inspect_project
from inpaint_studio.core.pipeline.request import RenderingSpeed
from inpaint_studio.providers import create_provider
from inpaint_studio.providers.base import PollPolicy

from .conftest import DATA, document_request
from .servers import IdeogramServer, MagnificServer, OneMinServer
from .support.waiting import until
from .test_providers import FAST

EXAMPLES = int(os.environ.get("INPAINT_STUDIO_MODEL_EXAMPLES", "10"))
STEPS = int(os.environ.get("INPAINT_STUDIO_MODEL_STEPS", "12"))
POLL = PollPolicy(first=0.01, factor=1.5, longest=0.05, timeout=5.0)
PHOTOS = ("coffee.png", "chelsea.png")
_servers: dict = {}


def servers() -> dict:
    """The loopback servers, started once for the module (stopped with the process)."""
    if not _servers:
        _servers["ideogram"] = IdeogramServer().start()
        magnific = MagnificServer()
        magnific.polls_before_done = 0
        _servers["magnific"] = magnific.start()
        _servers["1min"] = OneMinServer().start()
    return _servers


def provider(name: str, client):
    if name == "local":
        return create_provider("local")
    srv = servers()[name]
    extra = {"poll": POLL} if name in ("magnific", "1min") else {}
    return create_provider(
        name, client, base_url=srv.base_url, api_key=srv.api_key, retry=FAST, **extra
    )


def snapshot(s: EditSession) -> dict:
    """Everything a save must keep, comparable with ``==`` (pixels as bytes)."""
    return {
        "size": s.doc.photo.size,
        "photo": s.doc.photo.rgb.tobytes(),
        "mask": s.doc.mask.tobytes(),
        "layers": [
            (
                lay.key,
                lay.visible,
                round(lay.opacity, 6),
                lay.final_of,
                lay.variant.seed,
                None
                if lay.variant.layer is None
                else (
                    lay.variant.layer.box,
                    lay.variant.layer.rgb.tobytes(),
                    lay.variant.layer.alpha.tobytes(),
                ),
            )
            for lay in s.doc.layers
        ],
        "selected": s.doc.selected,
        "latest": list(s.doc.latest),
        "jobs": sorted(
            (
                j.id,
                j.stage,
                j.provider.name,
                j.request.prompt,
                j.request.num_images,
                j.request.rendering_speed.value,
                j.request.mask.shape,
                j.offset,
            )
            for j in s.doc.jobs.values()
        ),
        "composite": s.doc.composite().tobytes(),
    }


class DocumentMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.tmp = Path(tempfile.mkdtemp(prefix="model-"))
        self.client = httpx.AsyncClient(timeout=30)
        self.sessions: list[EditSession] = []
        self.errors: list[str] = []
        self.session = self.new_session()
        self.base: dict | None = None  # the document as opened (what undoing everything returns to)
        self.saves = 0

    # -- helpers ------------------------------------------------------------------------------

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def new_session(self) -> EditSession:
        n = len(self.sessions)
        s = EditSession(
            client=self.client,
            journal=Journal(self.tmp / "journal", f"s{n}"),
            session_id=f"s{n}",
            recovery_folder=self.tmp / "recovery" / f"s{n}",
        )
        s.subscribe(lambda c: self.errors.append(c.message) if c.kind == "error" else None)
        self.sessions.append(s)
        return s

    def settle(self) -> None:
        self.run(
            until(
                lambda: (
                    not self.session.busy
                    and not any(j.is_active for j in self.session.runner.jobs.values())
                ),
                timeout=60,
            )
        )

    def submit(self, request, prov, **kw) -> None:
        """Generate as the editor does (on the running loop) and wait for the results."""

        async def go():
            try:
                job = self.session.generate(request, prov, **kw)
            except InpaintError:  # an empty or full mask, a rule broken: nothing is sent
                return
            await self.session.runner.wait(job)

        self.run(go())
        self.settle()

    def opened(self) -> bool:
        return self.session.doc.photo is not None

    def reopen(self, how: str) -> EditSession:
        """The document saved and opened again (``"save"``) or restored from its recovery copy."""
        other = self.new_session()
        if how == "save":
            self.saves += 1
            path = self.run(self.session.save(self.tmp / f"p{self.saves}.inpaint"))
            info = inspect_project(path)  # project info accepts every file the program wrote
            assert (info["photo"]["width"], info["photo"]["height"]) == self.session.doc.photo.size
            assert info["layers"] == len(self.session.doc.layers) and info["jobs"] == len(
                self.session.doc.jobs
            )
            self.run(other.open(path))
        else:
            self.run(self.session.save_recovery())
            copy = self.tmp / f"crash{len(self.sessions)}"
            shutil.copytree(self.session.recovery_folder, copy)
            inspect_project(copy)
            self.run(other.restore(copy))
        return other

    # -- rules --------------------------------------------------------------------------------

    @rule(name=st.sampled_from(PHOTOS))
    def open_photo(self, name: str) -> None:
        self.run(self.session.open(DATA / name))
        self.base = snapshot(self.session)

    @precondition(opened)
    @rule(x=st.floats(0, 1), y=st.floats(0, 1), r=st.integers(3, 60), erase=st.booleans())
    def stroke(self, x: float, y: float, r: int, erase: bool) -> None:
        h, w = self.session.doc.mask.shape
        cx, cy = int(x * (w - 1)), int(y * (h - 1))

        def paint(m: np.ndarray):
            yy, xx = np.ogrid[:h, :w]
            disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
            m[disc] = not erase
            return (max(0, cx - r), max(0, cy - r), min(w, cx + r + 1), min(h, cy + r + 1))

        self.run(self.session.edit_mask(paint, "Erase" if erase else "Brush"))

    @precondition(opened)
    @rule()
    def invert(self) -> None:
        def inv(m: np.ndarray):
            np.logical_not(m, out=m)
            return (0, 0, m.shape[1], m.shape[0])

        self.run(self.session.edit_mask(inv, "Invert"))

    @precondition(opened)
    @rule(
        name=st.sampled_from(["local", "ideogram", "magnific", "1min"]),
        n=st.integers(1, 3),
        draft=st.booleans(),
        feather=st.integers(0, 12),
    )
    def generate(self, name: str, n: int, draft: bool, feather: int) -> None:
        speed = RenderingSpeed.TURBO if draft and name != "local" else RenderingSpeed.DEFAULT
        request = document_request(
            self.session,
            {
                "prompt": "a silver spoon" if name != "local" else "",
                "num_images": n,
                "rendering_speed": speed,
                "feather": feather,
                "seed": 11,
            },
        )
        self.submit(request, provider(name, self.client))

    @precondition(lambda self: self.opened() and self.session.doc.layers)
    @rule(n=st.integers(1, 4))
    def show(self, n: int) -> None:
        self.session.show_variant(n)

    @precondition(lambda self: self.opened() and self.session.doc.layers)
    @rule(i=st.integers(0, 20), visible=st.booleans(), opacity=st.sampled_from([1.0, 0.5, 0.25]))
    def layer_view(self, i: int, visible: bool, opacity: float) -> None:
        lay = self.session.doc.layers[i % len(self.session.doc.layers)]
        self.session.select(lay.key)
        self.session.set_visible(lay.key, visible)
        self.session.set_opacity(lay.key, opacity)

    @precondition(lambda self: self.opened() and self.session.doc.layers)
    @rule()
    def accept(self) -> None:
        self.run(self.session.accept())

    @precondition(lambda self: self.opened() and self.session.doc.layers)
    @rule(others=st.booleans())
    def discard(self, others: bool) -> None:
        if others:
            self.session.discard_others()
        else:
            self.session.discard()

    @precondition(lambda self: self.opened() and self.session.doc.layers)
    @rule()
    def render_final(self) -> None:
        request = self.session.final_request()
        if request is None:
            return
        lay = self.session.doc.layer(self.session.doc.selected)
        self.submit(
            request,
            provider(lay.job.provider.name, self.client),
            draft_of=self.session.doc.selected,
        )

    @precondition(lambda self: self.opened() and self.session.doc.layers)
    @rule(feather=st.integers(0, 16), colour=st.booleans())
    def reblend(self, feather: int, colour: bool) -> None:
        self.run(self.session.reblend(None, feather, colour))

    @precondition(lambda self: self.opened() and not self.session.doc.layers)
    @rule(
        pad=st.tuples(
            st.integers(0, 80), st.integers(0, 80), st.integers(0, 80), st.integers(0, 80)
        )
    )
    def expand(self, pad) -> None:
        if not any(pad):
            return
        self.run(self.session.expand(pad))

    @precondition(opened)
    @rule()
    def undo(self) -> None:
        self.session.undo.undo()
        self.settle()

    @precondition(opened)
    @rule()
    def redo(self) -> None:
        self.session.undo.redo()
        self.settle()

    @precondition(opened)
    @rule()
    def save_and_reopen(self) -> None:
        before = snapshot(self.session)
        other = self.reopen("save")
        assert snapshot(other) == before
        self.session = other  # go on editing the reopened document
        self.base = snapshot(other)

    @precondition(opened)
    @rule()
    def crash_and_restore(self) -> None:
        before = snapshot(self.session)
        other = self.reopen("recovery")
        assert snapshot(other) == before
        self.session = other
        self.base = snapshot(other)

    @precondition(opened)
    @rule()
    def undo_everything(self) -> None:
        before = snapshot(self.session)
        done = 0
        while self.session.undo.undo():
            done += 1
        self.settle()
        now = snapshot(self.session)
        for key in ("size", "photo", "mask"):  # generating is not a step: its layers stay
            assert now[key] == self.base[key], key
        for _ in range(done):
            self.session.undo.redo()
        self.settle()
        after = snapshot(self.session)
        for key in ("size", "photo", "mask", "composite"):
            assert after[key] == before[key], key
        assert [lay[:2] for lay in after["layers"]] == [lay[:2] for lay in before["layers"]]

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def composite_changes_only_where_layers_are_drawn(self) -> None:
        s = self.session
        if s.doc.photo is None:
            return
        composite = s.doc.composite()
        drawn = np.zeros(s.doc.mask.shape, bool)
        for lay in s.doc.layers:
            layer = lay.variant.layer
            if layer is None:
                continue
            x0, y0, x1, y1 = layer.box
            inside = layer.alpha > 0
            job_mask = lay.job.request.mask
            assert (
                job_mask.shape == s.doc.mask.shape
            )  # a layer belongs to the canvas it is shown on
            assert not (inside & ~job_mask[y0:y1, x0:x1]).any(), (
                "a layer draws outside its job's mask"
            )
            if lay.visible:
                drawn[y0:y1, x0:x1] |= inside
        assert np.array_equal(composite[~drawn], s.doc.photo.rgb[~drawn])

    @invariant()
    def save_reopen_and_restore_keep_everything(self) -> None:
        if self.session.doc.photo is None:
            return
        before = snapshot(self.session)
        for how in ("save", "recovery"):
            other = self.reopen(how)
            assert snapshot(other) == before, how
            self.run(other.aclose(keep_recovery=False))

    def teardown(self) -> None:
        for s in self.sessions:
            try:
                self.run(s.aclose(keep_recovery=False))
            except Exception:
                pass
        self.run(self.client.aclose())
        self.loop.close()
        asyncio.set_event_loop(None)
        shutil.rmtree(self.tmp, ignore_errors=True)


DocumentMachine.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestDocumentModel = DocumentMachine.TestCase
