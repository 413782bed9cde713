"""Issue 18: the document owns its request and announces typed events; only real changes
emit, and one job makes few events and few recovery saves."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import pytest

from inpaint_studio.core.document import recovery
from inpaint_studio.core.document.session import EditSession
from inpaint_studio.core.events import (
    DocumentReplaced,
    ErrorRaised,
    JobAdded,
    JobProgressed,
    LayerChanged,
    LayersChanged,
    MaskChanged,
    ParamsChanged,
    SelectionChanged,
    Signal,
    StatusChanged,
)
from inpaint_studio.core.formats.journal import Journal
from inpaint_studio.core.formats.recovery_folder import RecoveryStore
from inpaint_studio.core.pipeline.jobs import PROGRESS_INTERVAL
from inpaint_studio.core.pipeline.request import RenderingSpeed
from inpaint_studio.providers import create_provider, make_provider

from .conftest import ellipse_mask
from .support.waiting import until

pytestmark = pytest.mark.asyncio


def recorder(session: EditSession) -> list:
    seen: list = []
    session.subscribe(seen.append)
    return seen


async def opened(tmp_path: Path, data_dir: Path, **kw) -> EditSession:
    s = EditSession(session_id="ev", recovery_folder=tmp_path / "rec", **kw)
    await s.open(data_dir / "coffee.png")
    assert await s.replace_mask(ellipse_mask(400, 600, 280, 375, 45, 40), "Mask")
    return s


async def test_one_two_variant_job_makes_few_events_and_two_recovery_saves(
    tmp_path, data_dir, server
):
    client = httpx.AsyncClient(timeout=30)
    s = await opened(tmp_path, data_dir, client=client, journal=Journal(tmp_path / "j", "ev"))
    # a debounce longer than the job: every save seen is one the job itself asks for
    recovery.Autosaver(s, delay=60)
    await s.save_recovery()
    saves = []
    real = RecoveryStore.save
    RecoveryStore.save = lambda store, state: (saves.append(1), real(store, state))[1]
    try:
        seen: list = []
        stamps: list[float] = []
        stages: list = []  # (stage, total, done) as each event was announced
        s.subscribe(lambda e: (seen.append(e), stamps.append(time.monotonic())))
        s.subscribe(
            lambda e: (
                isinstance(e, JobProgressed)
                and stages.append((e.job.stage, e.job.total, e.job.done))
            )
        )
        s.set_request(prompt="a silver spoon", num_images=2, rendering_speed=RenderingSpeed.TURBO)
        params = [e for e in seen if isinstance(e, ParamsChanged)]
        assert len(params) == 1 and params[0].fields >= {"prompt", "rendering_speed"}
        seen.clear()
        stamps.clear()
        provider = create_provider(
            "ideogram", client, base_url=server.base_url, api_key=server.api_key
        )
        job = s.generate(s.request(), provider)
        await s.runner.wait(job)
        await until(lambda: len(s.doc.layers) == 2)
        await until(lambda: not s.busy)
    finally:
        RecoveryStore.save = real
    kinds = Counter(type(e) for e in seen)
    assert set(kinds) == {JobAdded, JobProgressed, LayersChanged, SelectionChanged}, kinds
    assert kinds[JobAdded] == kinds[LayersChanged] == kinds[SelectionChanged] == 1
    # progress is announced only when it changed, and within a stage at most every 0.1 s
    times = [t for e, t in zip(seen, stamps, strict=True) if isinstance(e, JobProgressed)]
    assert len(times) == len(stages) and len(set(stages)) == len(stages)  # each a real change
    for i in range(1, len(stages)):
        (stage_a, total_a, _), (stage_b, total_b, done_b) = stages[i - 1], stages[i]
        if (stage_a, total_a) == (stage_b, total_b) and done_b != total_b:
            assert times[i] - times[i - 1] >= PROGRESS_INTERVAL * 0.9
    # one save when the upload starts (the paid request is on disk before it is answered),
    # one with the results, and nothing left for the autosave (it used to be 5 saves)
    assert len(saves) == 2, len(saves)
    assert s.revision == s.recovery_revision
    assert [e.recorded for e in seen if isinstance(e, JobProgressed)].count(True) == 1
    shown = [lay for lay in s.doc.layers if lay.visible]
    assert len(shown) == 1 and s.doc.selected == shown[0].key
    await s.aclose(keep_recovery=False)
    await client.aclose()


async def test_only_real_changes_emit(tmp_path, data_dir):
    s = await opened(tmp_path, data_dir)
    seen = recorder(s)
    s.set_request(prompt=s.doc.request["prompt"], num_images=s.doc.request["num_images"])
    s.select(s.doc.selected)
    assert not await s.replace_mask(s.doc.mask.copy(), "Same mask")
    s.set_request(provider=s.doc.request["provider"], provider_options={})
    assert seen == []
    s.set_request(prompt="a cup", seed=7)
    assert seen[-1] == ParamsChanged(frozenset({"prompt", "seed"}))
    with pytest.raises(KeyError):
        s.set_request(no_such_field=1)
    await s.aclose(keep_recovery=False)


async def test_events_are_typed_and_modifying_ones_set_unsaved_once(tmp_path, data_dir):
    s = await opened(tmp_path, data_dir)
    await s.save(tmp_path / "p.inpaint")
    seen = recorder(s)
    modified = []
    s.modified.connect(modified.append)
    rect = (10, 10, 20, 20)
    s.doc.mask[10:20, 10:20] = True
    s.mask_changed(rect)
    s.mask_changed(rect)
    assert [type(e) for e in seen] == [StatusChanged, MaskChanged, MaskChanged]
    assert seen[1].rect == rect and not seen[1].shown and s.doc.unsaved
    assert modified == [False, False]
    s.error("Something failed.")
    assert seen[-1] == ErrorRaised("Something failed.") and len(modified) == 2
    await s.aclose(keep_recovery=False)


async def test_opening_swaps_the_document_and_a_project_brings_its_request(tmp_path, data_dir):
    s = await opened(tmp_path, data_dir)
    s.set_request(prompt="a wooden boat", num_images=3)
    path = await s.save(tmp_path / "boat.inpaint")
    first = s.doc
    seen = recorder(s)
    await s.open(data_dir / "chelsea.png")
    assert s.doc is not first and first.photo_path.name == "coffee.png"  # the old one is intact
    assert s.doc.request["prompt"] == "a wooden boat"  # a photo keeps the request being edited
    assert isinstance(seen[0], DocumentReplaced)
    s.set_request(prompt="a cat", num_images=1)
    await s.open(path)
    assert (s.doc.request["prompt"], s.doc.request["num_images"]) == ("a wooden boat", 3)
    request = s.request()
    assert request.prompt == "a wooden boat" and request.num_images == 3
    assert not s.undo.can_undo  # the history belongs to the document that went
    await s.aclose(keep_recovery=False)


async def test_layer_events_name_the_layer(tmp_path, data_dir):
    s = await opened(tmp_path, data_dir)
    s.set_request(prompt="", num_images=2)
    job = s.generate(s.request(), create_provider("local", None))
    await s.runner.wait(job)
    await asyncio.sleep(0.2)
    seen = recorder(s)
    hidden = next(lay for lay in s.doc.layers if not lay.visible)
    s.set_visible(hidden.key, True)
    s.set_opacity(hidden.key, 0.5)
    assert seen == [LayerChanged(hidden.key), LayerChanged(hidden.key)]
    assert await s.reblend(hidden.key, 8, True)
    assert seen[-1] == LayerChanged(hidden.key, pixels=True)
    await s.aclose(keep_recovery=False)


async def test_a_broken_slot_does_not_stop_the_others(capsys):
    sig: Signal[int] = Signal()
    got: list[int] = []
    sig.connect(lambda v: 1 / 0)
    off = sig.connect(got.append)
    sig.emit(1)
    off()
    sig.emit(2)
    assert got == [1] and "ZeroDivisionError" in capsys.readouterr().err


async def test_a_restored_job_gets_its_provider_from_the_injected_registry(tmp_path, data_dir):
    s = await opened(tmp_path, data_dir)
    s.set_request(prompt="", num_images=1)
    job = s.generate(s.request(), create_provider("local", None))
    await s.runner.wait(job)
    path = await s.save(tmp_path / "r.inpaint")
    other = EditSession(session_id="other", providers=make_provider)
    await other.open(path)
    assert other.doc.jobs[job.id].provider.name == "local"
    assert np.array_equal(other.doc.composite(), s.doc.composite())
    await s.aclose(keep_recovery=False)
    await other.aclose(keep_recovery=False)


async def test_one_variant_per_region_a_row_shows_its_own_and_discard_all_undoes(
    tmp_path, data_dir
):
    s = await opened(tmp_path, data_dir)
    s.set_request(prompt="", num_images=2)
    first = s.generate(s.request(), create_provider("local", None))
    await s.runner.wait(first)
    await until(lambda: len(s.doc.layers) == 2)
    old_shown = next(lay for lay in s.doc.layers if lay.visible)
    second = s.generate(s.request(), create_provider("local", None))
    await s.runner.wait(second)
    await until(lambda: len(s.doc.layers) == 4)
    # the newest job's first variant is the one shown in its region: the older one steps aside
    assert [lay.key for lay in s.doc.layers if lay.visible] == [f"j{second.id}-0"]
    assert not old_shown.visible
    s.show_layer(old_shown.key)  # a click on its row
    assert [lay.key for lay in s.doc.layers if lay.visible] == [old_shown.key]
    assert s.doc.selected == old_shown.key
    before = s.doc.composite()
    assert s.discard_all() and s.doc.layers == [] and s.doc.selected is None
    s.undo.undo()
    assert len(s.doc.layers) == 4 and np.array_equal(s.doc.composite(), before)
    await s.aclose(keep_recovery=False)


async def test_number_keys_survive_a_withheld_job_and_a_final_takes_its_drafts_number(
    tmp_path, data_dir, server
):
    async with httpx.AsyncClient(timeout=30) as client:
        s = await opened(tmp_path, data_dir, client=client)
        ideogram = create_provider(
            "ideogram", client, api_key=server.api_key, base_url=server.base_url
        )
        s.set_request(prompt="a spoon", num_images=2, rendering_speed=RenderingSpeed.TURBO)
        drafts = s.generate(s.request(), ideogram)
        await s.runner.wait(drafts)
        await until(lambda: len(s.doc.latest) == 2)
        keys = list(s.doc.latest)
        s.set_request(prompt="unsafe-all")  # every variant withheld by the safety filter
        withheld = s.generate(s.request(), ideogram)
        await s.runner.wait(withheld)
        await until(lambda: len(s.doc.layers) == 4)
        assert s.doc.latest == keys  # keys 1–2 still show the drafts on screen
        s.show_variant(2)
        assert s.doc.selected == keys[1] and s.doc.layer(keys[1]).visible
        final = s.generate(s.final_request(keys[1]), ideogram, draft_of=keys[1])
        await s.runner.wait(final)
        await until(lambda: any(lay.final_of == keys[1] for lay in s.doc.layers))
        final_key = next(lay.key for lay in s.doc.layers if lay.final_of == keys[1])
        assert s.doc.latest == [keys[0], final_key]  # the other draft keeps its number
        s.show_variant(1)
        assert s.doc.layer(keys[0]).visible and not s.doc.layer(final_key).visible
        await s.aclose(keep_recovery=False)
