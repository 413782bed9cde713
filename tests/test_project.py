"""Project files, the recovery store and the result journal, on real photos."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import pytest_asyncio

from inpaint_studio.core.formats.journal import Journal
from inpaint_studio.core.formats.project import (
    FORMAT,
    JobRecord,
    ProjectError,
    ProjectState,
    VariantRecord,
    save_project,
)
from inpaint_studio.core.formats.project_reader import read_project
from inpaint_studio.core.formats.recovery_folder import RecoveryStore, orphaned_recoveries
from inpaint_studio.core.pipeline.jobs import JobRunner
from inpaint_studio.core.pipeline.params import to_json
from inpaint_studio.core.pipeline.request import EditRequest
from inpaint_studio.core.pixels.imaging import load_image
from inpaint_studio.providers import LocalProvider

from .conftest import ellipse_mask


@pytest_asyncio.fixture
async def state(data_dir, tmp_path):
    """A project built from a real offline job on a real JPEG."""
    path = data_dir / "rocket.jpg"
    photo = load_image(path, keep_source=True)
    mask = ellipse_mask(427, 640, 200, 320, 40, 30)
    journal = Journal(tmp_path / "journal")
    runner = JobRunner(journal=journal)
    job = runner.submit(
        EditRequest(prompt="", photo=photo, mask=mask.copy(), seed=3, num_images=2), LocalProvider()
    )
    await runner.wait(job)
    assert job.finished_ok, job.error
    v0, v1 = job.variants
    accepted_box = v0.layer.box
    patch = photo.rgb[accepted_box[1] : accepted_box[3], accepted_box[0] : accepted_box[2]].copy()
    patch[::2] = 255 - patch[::2]
    from inpaint_studio.core.pixels.imaging import load_reference

    jr = JobRecord(
        id=job.id,
        provider="local",
        label="Offline engine",
        parameters=to_json(job.request),
        stage=job.stage,
        created=job.created,
        finished=job.finished,
        sent=job.sent,
        mask=mask,
        region=[0, 0, 640, 427, 640, 427, "full"],
        style_references=[load_reference(data_dir / "chelsea.png")],
        character_references=[load_reference(data_dir / "astronaut.png")],
    )
    variants = [
        VariantRecord(
            id=f"v{i}",
            job=job.id,
            index=i,
            safe=True,
            seed=v.seed,
            name=f"fill {i}",
            layer=v.layer,
            raw=v.raw,
            opacity=0.5 if i else 1.0,
            visible=not i,
        )
        for i, v in enumerate((v0, v1))
    ]
    variants.append(VariantRecord(id="v2", job=job.id, index=2, safe=False, name="withheld"))
    st = ProjectState(
        path.read_bytes(),
        "rocket.jpg",
        mask,
        [(accepted_box, patch)],
        [jr],
        variants,
        panel={"prompt": "a moon", "num_images": 2},
        extra={"future_key": {"kept": True}},
    )
    return st, journal, job


@pytest.mark.asyncio
async def test_round_trip_is_exact(state, tmp_path, data_dir):
    st, _, _ = state
    target = tmp_path / "p.inpaint"
    save_project(target, st)
    back = read_project(target)
    assert back.original == (data_dir / "rocket.jpg").read_bytes()  # byte-identical
    assert np.array_equal(back.mask, st.mask)
    assert back.panel == st.panel and back.extra == {"future_key": {"kept": True}}
    assert [v.id for v in back.variants] == ["v0", "v1", "v2"] and back.variants[2].safe is False
    for a, b in zip(st.variants[:2], back.variants[:2], strict=True):
        assert (a.layer.x0, a.layer.y0) == (b.layer.x0, b.layer.y0)
        assert np.array_equal(a.layer.rgb, b.layer.rgb) and np.array_equal(
            a.layer.alpha, b.layer.alpha
        )
        assert b.opacity == a.opacity and b.visible == a.visible and b.seed == a.seed
    assert (
        np.array_equal(back.jobs[0].mask, st.mask)
        and back.jobs[0].parameters == st.jobs[0].parameters
    )
    assert back.jobs[0].style_references[0].data == (data_dir / "chelsea.png").read_bytes()
    assert back.jobs[0].character_references[0].name == "astronaut.png"
    working = back.working_photo()
    (x0, y0, x1, y1), patch = st.accepted[0]
    assert np.array_equal(working.rgb[y0:y1, x0:x1], patch)
    assert working.source == back.original
    # unknown keys survive a second save
    save_project(target, back)
    assert json.loads(zipfile.ZipFile(target).read("manifest.json"))["future_key"] == {"kept": True}


@pytest.mark.asyncio
async def test_newer_and_damaged_projects_are_refused(state, tmp_path):
    st, _, _ = state
    good = tmp_path / "good.inpaint"
    save_project(good, st)
    data = good.read_bytes()
    (tmp_path / "cut.inpaint").write_bytes(data[: len(data) // 2])
    with pytest.raises(ProjectError, match="damaged or truncated"):
        read_project(tmp_path / "cut.inpaint")
    (tmp_path / "text.inpaint").write_text("hello")
    with pytest.raises(ProjectError, match="damaged or truncated"):
        read_project(tmp_path / "text.inpaint")
    newer = tmp_path / "newer.inpaint"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(newer, "w") as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "manifest.json":
                m = json.loads(body)
                m["format"] = FORMAT + 1
                body = json.dumps(m).encode()
            dst.writestr(item, body)
    with pytest.raises(ProjectError, match="newer Inpaint Studio"):
        read_project(newer)
    missing = tmp_path / "missing.inpaint"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(missing, "w") as dst:
        for item in src.infolist():
            if not item.filename.startswith("layers/"):
                dst.writestr(item, src.read(item.filename))
    with pytest.raises(ProjectError, match="is missing, too large or unreadable"):
        read_project(missing)
    assert good.read_bytes() == data  # reading never writes


@pytest.mark.asyncio
async def test_failed_save_keeps_the_last_good_one(state, tmp_path, monkeypatch):
    st, _, _ = state
    target = tmp_path / "p.inpaint"
    save_project(target, st)
    before = target.read_bytes()
    import inpaint_studio.core.formats.project as project

    def broken(*a, **k):
        yield "manifest-part", b"x"
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(project, "files_of", broken)
    with pytest.raises(OSError):
        save_project(target, st)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.asyncio
async def test_recovery_store_and_orphans(state, tmp_path):
    st, _, _ = state
    root = tmp_path / "recovery"
    store = RecoveryStore(root / "session-1")
    store.save(st)
    st.mask[:50, :50] = True
    store.save(st)
    back = read_project(root / "session-1")
    assert np.array_equal(back.mask, st.mask) and len(back.variants) == 3
    assert orphaned_recoveries(root) == []  # this process is alive
    (root / "session-1" / "pid").write_text("999999999")
    assert orphaned_recoveries(root) == [root / "session-1"]
    store.discard()
    assert not (root / "session-1").exists()


@pytest.mark.asyncio
async def test_journal_keeps_every_result_with_metadata(state):
    _, journal, job = state
    entries = journal.entries()
    assert len(entries) == 2
    meta = entries[0].metadata()
    assert (
        meta["provider"] == "local" and meta["seed"] in (3, 4) and meta["sent"]["context"] == "full"
    )
    assert all(e.image.exists() and e.image.suffix == ".png" for e in entries)
    assert {v.extra["journal"] for v in job.variants} == {str(e.image) for e in entries}
    assert journal.total_bytes() > 100_000
    assert journal.clear_older_than(1) == 0
    import os
    import time

    old = time.time() - 3 * 86400
    for e in entries[:1]:
        os.utime(e.image, (old, old))
    assert journal.clear_older_than(2) == 1 and len(journal.entries()) == 1


@pytest.mark.asyncio
async def test_unwritable_journal_keeps_the_result(data_dir, tmp_path):
    import os

    photo = load_image(data_dir / "chelsea.png")
    journal = Journal(tmp_path / "journal")
    os.chmod(journal.root, 0o500)
    try:
        if os.access(journal.root, os.W_OK):  # running as root: make writing fail another way
            (tmp_path / "journal").rmdir()
            (tmp_path / "journal").write_text("not a folder")
        runner = JobRunner(journal=journal)
        job = runner.submit(
            EditRequest(
                prompt="", photo=photo, mask=ellipse_mask(300, 451, 150, 200, 30, 40), seed=1
            ),
            LocalProvider(),
        )
        await runner.wait(job)
    finally:
        if (tmp_path / "journal").is_dir():
            os.chmod(journal.root, 0o700)
    assert job.finished_ok and job.variants[0].layer is not None
    assert any("could not be written to the result journal" in n for n in job.notes)


@pytest.mark.asyncio
async def test_reference_images_are_stored_once_and_hidden_pixels_cost_nothing(state, tmp_path):
    """Issue 13: two jobs with the same style reference store it once (by content); a layer's
    pixels that are never shown (alpha 0) are zero, so its PNG is small."""
    import copy
    import zipfile

    from inpaint_studio.core.formats.project import save_project
    from inpaint_studio.core.formats.project_reader import read_project

    st, _, _ = state
    twin = copy.copy(st.jobs[0])
    twin.id = st.jobs[0].id + 1
    st.jobs.append(twin)
    path = tmp_path / "twice.inpaint"
    save_project(path, st)
    with zipfile.ZipFile(path) as z:
        refs = [n for n in z.namelist() if n.startswith("references/")]
    assert len(refs) == 2  # one style and one character reference for both jobs
    back = read_project(path)
    assert [len(j.style_references) for j in back.jobs] == [1, 1]
    assert back.jobs[0].style_references[0].data == back.jobs[1].style_references[0].data
    for v in back.variants:
        if v.layer is not None:
            hidden = v.layer.alpha == 0
            assert hidden.any() and not v.layer.rgb[hidden].any()
