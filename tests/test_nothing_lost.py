"""Issue 17: each reproduction of work or money lost at the seams, as a regular test.

Provider answers come from the loopback servers (``tests/servers.py``) bent with ``script``
or ``mutate``; the command line runs as a real subprocess; projects are real files.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from inpaint_studio.core.document.session import EditSession
from inpaint_studio.core.errors import MaskError
from inpaint_studio.core.formats.journal import Journal
from inpaint_studio.core.formats.output import PNG_TEXT_KEY, write_set
from inpaint_studio.core.formats.project_reader import inspect_project
from inpaint_studio.core.pipeline.jobs import JobRunner
from inpaint_studio.core.pipeline.protocol import RemoteTask, Stage
from inpaint_studio.core.pipeline.request import EditRequest
from inpaint_studio.core.pixels.imaging import load_image
from inpaint_studio.providers import MagnificProvider, create_provider
from inpaint_studio.providers.base import PollPolicy

from .conftest import SECRET, document_request, ellipse_mask
from .servers import IdeogramServer, MagnificServer, OneMinServer
from .support.waiting import until
from .test_cli import cli
from .test_providers import FAST, QUICK_POLL


@pytest.fixture
def magnific():
    srv = MagnificServer(api_key=SECRET).start()
    yield srv
    srv.stop()


@pytest.fixture
def onemin():
    srv = OneMinServer(api_key=SECRET).start()
    yield srv
    srv.stop()


def edit_args(
    photo, mask, server, *extra, provider="ideogram", out=None, prompt="a silver spoon"
) -> list:
    """The ``edit`` command's arguments against ``server``."""
    out = out or photo.parent / "out"
    return [
        "edit",
        photo,
        "--mask",
        mask,
        "--provider",
        provider,
        "--base-url",
        server.base_url,
        "--prompt",
        prompt,
        "--out",
        out,
        *extra,
    ]


def edit(
    photo, mask, server, *extra, provider="ideogram", key_env="IDEOGRAM_API_KEY", out=None, env=None
):
    return cli(
        *edit_args(photo, mask, server, *extra, provider=provider, out=out),
        env={key_env: SECRET} | (env or {}),
    )


def start_edit(photo, mask, server, *extra, provider="ideogram", key_env="IDEOGRAM_API_KEY", **run):
    """``edit`` as a running process (``run``: ``subprocess.run`` keywords instead, to wait)."""
    argv = [
        sys.executable,
        "-m",
        "inpaint_studio",
        *map(str, edit_args(photo, mask, server, *extra, provider=provider, prompt="x")),
    ]
    env = dict(os.environ, **{key_env: SECRET})
    if run:
        return subprocess.run(argv, env=env, text=True, **run)
    return subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)


def crash_reports(config: Path) -> list[Path]:
    folder = config / "data" / "crash-reports"
    return list(folder.glob("*.txt")) if folder.exists() else []


def journal_files(config: Path) -> list[Path]:
    folder = config / "data" / "journal"
    return sorted(p for p in folder.glob("*") if p.suffix != ".json") if folder.exists() else []


def all_written_text(*folders: Path) -> str:
    """Every byte of every file under ``folders``, as text (PNG text chunks included)."""
    out = []
    for folder in folders:
        for p in folder.rglob("*") if folder.exists() else []:
            if p.is_file():
                out.append(p.read_bytes().decode("latin-1"))
    return "\n".join(out)


# --- projects --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_an_expanded_project_reopens_with_its_whole_history(data_dir, tmp_path, server):
    """Generate, Expand +25 % each side, generate, save, reopen: everything is there, and
    Replay of the job before the Expand moves its mask (or refuses with a sentence)."""
    async with httpx.AsyncClient(timeout=30) as client:
        provider = create_provider(
            "ideogram", client, base_url=server.base_url, api_key=server.api_key
        )
        s = EditSession(client=client, journal=Journal(tmp_path / "j", "a"), session_id="a")
        await s.open(data_dir / "coffee.png")
        first_mask = ellipse_mask(400, 600, 280, 375, 45, 40)
        await s.replace_mask(first_mask, "Mask")
        job1 = s.generate(document_request(s, {"prompt": "a spoon", "num_images": 2}), provider)
        await s.runner.wait(job1)
        await until(lambda: not s.busy)
        assert await s.accept()
        s.discard_others(s.doc.layers[0].key) if s.doc.layers else None
        for lay in list(s.doc.layers):
            s.discard(lay.key)
        assert await s.expand((150, 100, 150, 100))
        assert s.doc.photo.size == (900, 600)
        job2 = s.generate(document_request(s, {"prompt": "more table", "num_images": 2}), provider)
        await s.runner.wait(job2)
        await until(lambda: not s.busy)
        expected = s.doc.composite()
        path = await s.save(tmp_path / "proj1.inpaint")
        info = inspect_project(path)
        assert info["photo"]["width"] == 900 and info["jobs"] == 2
        other = EditSession(client=client, session_id="b")
        await other.open(path)
        assert sorted(other.doc.jobs) == sorted(s.doc.jobs)
        assert [lay.key for lay in other.doc.layers] == [lay.key for lay in s.doc.layers]
        assert np.array_equal(other.doc.composite(), expected)
        assert other.doc.selected == s.doc.selected and other.doc.latest == s.doc.latest
        moved = other.doc.job_mask(
            job1.id
        )  # the first job's mask, at its place on the bigger canvas
        assert moved.shape == (600, 900) and np.array_equal(moved[100:500, 150:750], first_mask)
        assert moved.sum() == first_mask.sum()
        other.undo.clear()
        await other.aclose(keep_recovery=False)
        await s.aclose(keep_recovery=False)


def test_a_project_from_before_sizes_were_recorded_still_opens(data_dir, tmp_path):
    """Files the previous version wrote (a job mask at the canvas size before an Expand and no
    size recorded) open; that job's mask is kept for history and refused for Replay with a sentence."""
    from inpaint_studio.core.formats.project_reader import read_project

    photo = Image.open(data_dir / "coffee.png")
    big = Image.new("RGB", (900, 600))
    big.paste(photo, (150, 100))
    buf = io.BytesIO()
    big.save(buf, "PNG")
    mask_small = Image.new("1", (600, 400), 1)
    mask_big = Image.new("1", (900, 600), 1)
    manifest = {
        "format": 1,
        "photo": {"name": "coffee-expanded.png", "file": "original.png"},
        "mask": "mask.png",
        "jobs": [
            {
                "id": 1,
                "provider": "local",
                "stage": "done",
                "created": 1.0,
                "mask": "jobs/1-mask.png",
                "parameters": {"prompt": "x"},
            }
        ],
    }
    path = tmp_path / "old.inpaint"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("manifest.json", json.dumps(manifest))
        z.writestr("original.png", buf.getvalue())
        for name, img in (("mask.png", mask_big), ("jobs/1-mask.png", mask_small)):
            b = io.BytesIO()
            img.save(b, "PNG")
            z.writestr(name, b.getvalue())
    assert inspect_project(path)["jobs"] == 1
    state = read_project(path)
    assert state.jobs[0].mask.shape == (400, 600) and state.jobs[0].offset is None

    async def replay() -> str:
        s = EditSession(session_id="old")
        await s.open(path)
        with pytest.raises(MaskError) as exc:
            s.doc.job_mask(1)
        await s.aclose(keep_recovery=False)
        return str(exc.value)

    assert "whose place on this 900×600 one is not known" in asyncio.run(replay())


def test_project_info_accepts_what_edit_project_wrote_from_a_rotated_photo(data_dir, tmp_path):
    """EXIF orientation 6: the project's photo is stored as it came (landscape bytes) and the
    mask upright (portrait); ``project info`` compares upright sizes."""
    src = Image.open(data_dir / "coffee.png").convert("RGB")  # 600×400 stored
    exif = Image.Exif()
    exif[0x0112] = 6
    photo = tmp_path / "rotated.jpg"
    src.save(photo, "JPEG", quality=92, exif=exif.tobytes())
    upright = load_image(photo)
    assert upright.size == (400, 600)
    mask = np.full((600, 400), 255, np.uint8)
    mask[ellipse_mask(600, 400, 300, 200, 40, 40)] = 0
    Image.fromarray(mask).save(tmp_path / "mask.png")
    res = cli(
        "edit",
        photo,
        "--mask",
        tmp_path / "mask.png",
        "--provider",
        "local",
        "--out",
        tmp_path / "out",
        "--project",
        tmp_path / "r.inpaint",
    )
    assert res.returncode == 0, res.stderr
    info = cli("project", "info", tmp_path / "r.inpaint", "--json")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["photo"]["width"] == 400


def test_project_export_decodes_a_shared_layer_once(data_dir, tmp_path):
    """A crafted project with 3000 variants sharing one layer member: exported without
    decoding it 3000 times (it was 3.4 GB and a MemoryError)."""
    layer = Image.new("RGBA", (600, 400), (200, 10, 10, 255))
    b = io.BytesIO()
    layer.save(b, "PNG")
    variants = [
        {
            "id": f"v{i}",
            "job": 1,
            "index": 0,
            "safe": True,
            "visible": i == 0,
            "layer": {"file": "layers/shared.png", "x0": 0, "y0": 0},
        }
        for i in range(3000)
    ]
    manifest = {
        "format": 1,
        "photo": {"name": "coffee.png", "file": "original.png"},
        "mask": "mask.png",
        "jobs": [{"id": 1, "provider": "local", "stage": "done", "created": 1.0}],
        "variants": variants,
    }
    m = io.BytesIO()
    Image.new("1", (600, 400), 1).save(m, "PNG")
    path = tmp_path / "crafted.inpaint"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("manifest.json", json.dumps(manifest))
        z.writestr("original.png", (data_dir / "coffee.png").read_bytes())
        z.writestr("mask.png", m.getvalue())
        z.writestr("layers/shared.png", b.getvalue())
    t = time.monotonic()
    res = cli("project", "export", path, "--out", tmp_path / "x.ora")
    # refused with a sentence (its layers would hold 720 MP), never a MemoryError or crash report
    assert res.returncode == 2 and "layers hold more than 400 MP" in res.stderr, res.stderr
    assert time.monotonic() - t < 60
    from inpaint_studio.core.formats.project_reader import read_project

    state = read_project(path)
    assert len({id(v.layer) for v in state.variants}) == 1  # decoded once, shared


# --- downloads: nothing paid is thrown away ---------------------------------------------------


def test_one_failed_download_keeps_the_paid_images_beside_it(
    photo_and_mask, ideogram, isolated_settings
):
    photo, mask = photo_and_mask

    def third_link_dead(method, path, answer):
        answer["data"][2]["url"] = answer["data"][2]["url"].replace(
            "/results/", "/results/0"
        )  # a 404
        return answer

    ideogram.mutate = third_link_dead
    res = edit(photo, mask, ideogram, "--num-images", "3")
    assert res.returncode == 0, res.stderr
    out = sorted((photo.parent / "out").glob("*.png"))
    assert len(out) == 2
    kept = journal_files(isolated_settings)
    assert len(kept) == 2
    assert "2 of 3 results arrived" in res.stderr and all(str(p) in res.stderr for p in kept)
    assert not crash_reports(isolated_settings)


def test_an_html_page_instead_of_an_image_costs_only_itself(
    photo_and_mask, ideogram, isolated_settings
):
    photo, mask = photo_and_mask
    ideogram.mutate = lambda m, p, a: (
        a | {"data": [a["data"][0], dict(a["data"][1], url=ideogram.base_url + "/nowhere")]}
    )
    res = edit(photo, mask, ideogram, "--num-images", "2")
    assert res.returncode == 0, res.stderr
    assert (
        len(list((photo.parent / "out").glob("*.png"))) == 1
        and "1 of 2 results arrived" in res.stderr
    )


def test_every_download_failing_is_one_sentence(photo_and_mask, ideogram, isolated_settings):
    photo, mask = photo_and_mask
    res = edit(photo, mask, ideogram, "--num-images", "2", env={})
    ideogram.mutate = lambda m, p, a: (
        a | {"data": [dict(d, url=d["url"].replace("/results/", "/results/0")) for d in a["data"]]}
    )
    res = edit(photo, mask, ideogram, "--num-images", "2", out=photo.parent / "o2")
    assert res.returncode == 1 and res.stderr.count("\n") == 1
    assert "None of the 2 results could be downloaded" in res.stderr


def test_more_results_than_asked_are_ignored(photo_and_mask, ideogram, isolated_settings):
    photo, mask = photo_and_mask
    ideogram.mutate = lambda m, p, a: a | {"data": a["data"] * 300}
    res = edit(photo, mask, ideogram, "--num-images", "1", "--json")
    assert res.returncode == 0, res.stderr
    assert len(json.loads(res.stdout)["variants"]) == 1
    assert len(list((photo.parent / "out").glob("*.png"))) == 1
    assert len(ideogram.downloads) == 1


@pytest.mark.asyncio
async def test_answers_claiming_enormous_images_are_refused_before_decoding(ideogram, data_dir):
    """Four 196 MP answers of 600 KB each took 7.3 GB: the header is read first."""
    huge = io.BytesIO()
    Image.new("L", (14000, 14000), 0).save(huge, "PNG", optimize=True)
    assert len(huge.getvalue()) < 1_000_000
    ideogram.results["huge"] = huge.getvalue()

    def enormous(method, path, answer):
        for d in answer["data"]:
            d["url"] = f"{ideogram.base_url}/results/{'ab' * 8}.png"
        return answer

    ideogram.results["ab" * 8] = huge.getvalue()
    ideogram.mutate = enormous
    photo = load_image(data_dir / "coffee.png")
    request = EditRequest(
        prompt="x", photo=photo, mask=ellipse_mask(400, 600, 280, 375, 45, 40), num_images=4
    )
    async with httpx.AsyncClient(timeout=30) as client:
        runner = JobRunner(client)
        job = await runner.wait(
            runner.submit(
                request,
                create_provider("ideogram", client, base_url=ideogram.base_url, api_key=SECRET),
            )
        )
    assert job.stage == Stage.FAILED and "14000×14000 pixels" in str(job.error)


# --- odd answers: a result or a sentence, never a crash report ----------------------------------


@pytest.mark.parametrize("provider", ["ideogram", "ideogram-v2"])
def test_a_unicode_digit_seed_still_delivers_the_paid_image(
    photo_and_mask, ideogram, isolated_settings, provider
):
    photo, mask = photo_and_mask
    ideogram.mutate = lambda m, p, a: a | {"data": [dict(d, seed="²") for d in a["data"]]}
    extra = ("--speed", "TURBO") if provider == "ideogram-v2" else ()
    res = edit(photo, mask, ideogram, "--json", *extra, provider=provider)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["variants"][0]["seed"] is None
    assert not crash_reports(isolated_settings)


def test_a_string_false_safety_flag_withholds(photo_and_mask, ideogram, isolated_settings):
    photo, mask = photo_and_mask
    ideogram.mutate = lambda m, p, a: (
        a | {"data": [dict(d, is_image_safe="false") for d in a["data"]]}
    )
    res = edit(photo, mask, ideogram)
    assert res.returncode == 3 and not list((photo.parent / "out").glob("*.png"))


def test_magnific_generated_5_is_a_sentence_with_the_resume_command(
    photo_and_mask, magnific, isolated_settings
):
    photo, mask = photo_and_mask
    magnific.polls_before_done = 0

    def odd(method, path, answer):
        if method == "GET" and answer["data"]["status"] == "COMPLETED":
            answer["data"]["generated"] = 5
        return answer

    magnific.mutate = odd
    res = edit(photo, mask, magnific, provider="magnific", key_env="MAGNIFIC_API_KEY")
    assert res.returncode == 1 and not crash_reports(isolated_settings)
    task = next(iter(magnific.tasks))
    assert (
        f"inpaint-studio resume {task} --provider magnific" in res.stderr
        and res.stderr.count("\n") == 1
    )


def test_onemin_failure_with_a_string_detail_is_a_sentence(
    photo_and_mask, onemin, isolated_settings
):
    photo, mask = photo_and_mask
    onemin.mutate = lambda m, p, a: (
        {
            "aiRecord": {
                "uuid": a["aiRecord"]["uuid"],
                "status": "FAILURE",
                "aiRecordDetail": "model overloaded",
            }
        }
        if p == "/api/features"
        else a
    )
    res = edit(photo, mask, onemin, provider="1min", key_env="ONEMIN_API_KEY")
    assert res.returncode == 1 and not crash_reports(isolated_settings)
    assert res.stderr == "inpaint-studio: 1min.ai could not complete the edit: model overloaded.\n"


# --- keys and terminals -----------------------------------------------------------------------

ESCAPES = "\x1b[2J\x1b]0;pwned\x07\nrm -rf ~\r\u202e"


@pytest.mark.parametrize("where", ["magnific", "1min"])
def test_a_key_quoted_in_a_failure_is_never_printed(
    photo_and_mask, magnific, onemin, isolated_settings, where
):
    photo, mask = photo_and_mask
    text = f"quota exceeded for api key {SECRET}{ESCAPES}"
    if where == "magnific":
        magnific.polls_before_done = 0
        magnific.mutate = lambda m, p, a: (
            a | {"data": a["data"] | {"status": "FAILED", "error": text}} if m == "GET" else a
        )
        res = edit(photo, mask, magnific, provider="magnific", key_env="MAGNIFIC_API_KEY")
    else:
        onemin.mutate = lambda m, p, a: (
            {
                "aiRecord": {
                    "uuid": a["aiRecord"]["uuid"],
                    "status": "FAILURE",
                    "aiRecordDetail": {"errorMessage": text},
                }
            }
            if p == "/api/features"
            else a
        )
        res = edit(photo, mask, onemin, provider="1min", key_env="ONEMIN_API_KEY")
    assert res.returncode == 1
    assert SECRET not in res.stderr and "[key]" in res.stderr
    assert "\x1b" not in res.stderr and "\x07" not in res.stderr and "\u202e" not in res.stderr
    assert res.stderr.count("\n") == 1  # "rm -rf ~" never starts a line of its own
    assert SECRET not in all_written_text(isolated_settings)


def test_a_key_in_a_returned_prompt_is_stored_nowhere(photo_and_mask, ideogram, isolated_settings):
    photo, mask = photo_and_mask
    ideogram.mutate = lambda m, p, a: (
        a | {"data": [dict(d, prompt=f"my key is {SECRET}\x1b[31m") for d in a["data"]]}
    )
    res = edit(photo, mask, ideogram, "--json", "--raw", "--project", photo.parent / "p.inpaint")
    assert res.returncode == 0, res.stderr
    assert SECRET not in res.stdout and "\x1b" not in res.stdout
    assert json.loads(res.stdout)["variants"][0]["prompt"] == "my key is [key]"
    png = next((photo.parent / "out").glob("*-edit-1.png"))
    assert SECRET not in Image.open(png).text[PNG_TEXT_KEY]
    assert SECRET not in all_written_text(photo.parent, isolated_settings)


def test_escape_sequences_in_a_task_id_never_reach_a_url_or_the_terminal(
    photo_and_mask, magnific, isolated_settings
):
    photo, mask = photo_and_mask
    magnific.mutate = lambda m, p, a: (
        a | {"data": a["data"] | {"task_id": "../../admin\x1b[2J\nrm -rf ~"}}
    )
    res = edit(photo, mask, magnific, provider="magnific", key_env="MAGNIFIC_API_KEY")
    assert res.returncode == 1 and "\x1b" not in res.stderr and res.stderr.count("\n") == 1
    assert "cannot use" in res.stderr
    assert not any("admin" in r.path for r in magnific.requests)  # never put into a URL


def test_retry_after_infinity_is_a_plain_sentence(photo_and_mask, ideogram, isolated_settings):
    photo, mask = photo_and_mask
    ideogram.script = [(503, {"error": "busy"}, {"Retry-After": "1e400"})]
    res = edit(photo, mask, ideogram)
    assert res.returncode == 1 and "more than a day" in res.stderr and "inf" not in res.stderr


# --- files ------------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are a POSIX thing")
def test_a_fifo_as_photo_or_mask_is_refused_at_once(photo_and_mask, tmp_path):
    photo, mask = photo_and_mask
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    for args in ((fifo, mask), (photo, fifo)):
        t = time.monotonic()
        res = cli(
            "edit", args[0], "--mask", args[1], "--provider", "local", "--out", tmp_path / "o"
        )
        assert res.returncode == 2 and "not a regular file" in res.stderr
        assert time.monotonic() - t < 30


def test_a_jpeg_claiming_far_more_pixels_than_it_holds_is_refused(data_dir, tmp_path, ideogram):
    """48 KB claiming 14000×14000: compared with the mask from the headers (no 1.9 GB decode),
    and with a matching mask refused as truncated — never padded, sent and billed."""
    import struct

    buf = io.BytesIO()
    Image.open(data_dir / "rocket.jpg").save(buf, "JPEG", quality=90)
    data = bytearray(buf.getvalue())
    i = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, i + 5, 14000, 14000)
    bomb = tmp_path / "bomb.jpg"
    bomb.write_bytes(bytes(data))
    small = tmp_path / "small.png"
    Image.new("L", (640, 427), 0).save(small)
    res = cli("edit", bomb, "--mask", small, "--provider", "local", "--out", tmp_path / "o")
    assert res.returncode == 2 and "14000×14000" in res.stderr and "same size" in res.stderr
    matching = tmp_path / "matching.png"
    Image.new("1", (14000, 14000), 0).save(matching)
    res = edit(bomb, matching, ideogram)
    assert res.returncode == 2 and "truncated or damaged" in res.stderr
    assert ideogram.requests == []


def test_outputs_are_claimed_with_their_sidecars_and_never_left_empty(tmp_path):
    (tmp_path / "p-edit-1.json").write_text("the user's own notes")
    (tmp_path / "p-edit-2-raw.png").write_bytes(b"mine")
    n, paths = write_set(
        tmp_path, "p", 1, lambda n: {".png": b"png", ".json": b"{}", "-raw.png": b"raw"}
    )
    assert n == 3 and (tmp_path / "p-edit-1.json").read_text() == "the user's own notes"
    assert (tmp_path / "p-edit-2-raw.png").read_bytes() == b"mine"
    assert paths[".png"].read_bytes() == b"png"

    # a real write failure on the second file of the set (files over 1 MB fail with EFBIG)
    import resource

    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, old[1]))
    try:
        with pytest.raises(OSError):
            write_set(tmp_path, "q", 1, lambda n: {".png": b"ok", ".json": b"x" * 2_000_000})
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
        signal.signal(signal.SIGXFSZ, handler)
    assert not list(tmp_path.glob("q-edit-*")) and not list(tmp_path.glob(".q-edit*"))


def test_a_vanished_output_folder_names_the_file_that_holds_the_result(
    photo_and_mask, ideogram, isolated_settings
):
    photo, mask = photo_and_mask
    out = photo.parent / "out"
    ideogram.answer_delay = 1.5
    proc = start_edit(photo, mask, ideogram, provider="ideogram", key_env="IDEOGRAM_API_KEY")
    deadline = time.monotonic() + 30
    while not ideogram.edit_requests and time.monotonic() < deadline:
        time.sleep(0.05)
    out.rmdir()
    out.write_text("now a file")  # the folder is gone and cannot be made again
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    kept = journal_files(isolated_settings)
    assert kept and str(kept[0]) in err


def test_no_claim_of_a_journal_when_the_journal_could_not_be_written(
    photo_and_mask, ideogram, isolated_settings
):
    """The disk is full for the journal and the output alike (every file over 50 KB fails with
    EFBIG): the message never says the results are kept in the journal."""
    import resource

    photo, mask = photo_and_mask

    def full_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(
            resource.RLIMIT_FSIZE, (50_000, resource.getrlimit(resource.RLIMIT_FSIZE)[1])
        )

    proc = start_edit(
        photo,
        mask,
        ideogram,
        provider="ideogram",
        key_env="IDEOGRAM_API_KEY",
        capture_output=True,
        preexec_fn=full_disk,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert "kept in the result journal" not in proc.stderr
    assert "could not be kept anywhere" in proc.stderr
    assert not journal_files(isolated_settings) and not list((photo.parent / "out").glob("*.png"))


# --- paid tasks are always named ------------------------------------------------------------


def test_ctrl_c_names_every_paid_task_with_its_resume_command(
    photo_and_mask, magnific, isolated_settings
):
    photo, mask = photo_and_mask
    magnific.polls_before_done = 10_000
    proc = start_edit(
        photo, mask, magnific, "--num-images", "2", provider="magnific", key_env="MAGNIFIC_API_KEY"
    )
    deadline = time.monotonic() + 30
    while len(magnific.tasks) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    for task in magnific.tasks:
        assert f"inpaint-studio resume {task} --provider magnific" in err


@pytest.mark.asyncio
async def test_a_poll_timeout_names_every_task(magnific, data_dir):
    magnific.polls_before_done = 10_000
    photo = load_image(data_dir / "coffee.png")
    request = EditRequest(
        prompt="x", photo=photo, mask=ellipse_mask(400, 600, 280, 375, 45, 40), num_images=2
    )
    async with httpx.AsyncClient(timeout=30) as client:
        provider = MagnificProvider(
            client,
            api_key=SECRET,
            base_url=magnific.base_url,
            retry=FAST,
            poll=PollPolicy(first=0.01, factor=1.5, longest=0.05, timeout=1.0),
        )
        runner = JobRunner(client)
        job = await runner.wait(runner.submit(request, provider))
    assert job.stage == Stage.FAILED
    for task in magnific.tasks:
        assert f"inpaint-studio resume {task} --provider magnific" in str(job.error)


@pytest.mark.asyncio
async def test_one_failed_magnific_task_keeps_the_others(magnific, data_dir):
    photo = load_image(data_dir / "coffee.png")
    request = EditRequest(
        prompt="x", photo=photo, mask=ellipse_mask(400, 600, 280, 375, 45, 40), num_images=3
    )
    failing: list[str] = []

    def one_fails(method, path, answer):
        if method == "GET" and answer["data"]["status"] == "COMPLETED":
            if not failing or answer["data"]["task_id"] in failing:
                failing.append(answer["data"]["task_id"])
                return answer | {"data": answer["data"] | {"status": "FAILED", "error": "nope"}}
        return answer

    magnific.mutate = one_fails
    async with httpx.AsyncClient(timeout=30) as client:
        provider = MagnificProvider(
            client, api_key=SECRET, base_url=magnific.base_url, retry=FAST, poll=QUICK_POLL
        )
        runner = JobRunner(client)
        job = await runner.wait(runner.submit(request, provider))
    assert job.stage == Stage.DONE and len(job.variants) == 2
    assert any("1 of 3 tasks did not finish" in n for n in job.notes)


def test_resume_refuses_odd_ids_and_files_with_a_sentence(tmp_path, isolated_settings):
    res = cli("resume", "../../etc/passwd", "--base-url", "http://127.0.0.1:9")
    assert res.returncode == 2 and "is not a task id" in res.stderr
    f = tmp_path / "file"
    f.write_text("x")
    res = cli("resume", "abc123", "--out", f, "--base-url", "http://127.0.0.1:9")
    assert res.returncode == 2 and "is a file" in res.stderr
    assert not crash_reports(isolated_settings)


@pytest.mark.asyncio
async def test_remote_ids_read_from_a_project_are_checked_before_polling(magnific):
    async with httpx.AsyncClient(timeout=30) as client:
        provider = MagnificProvider(
            client, api_key=SECRET, base_url=magnific.base_url, retry=FAST, poll=QUICK_POLL
        )
        with pytest.raises(Exception) as exc:
            await provider.resume([RemoteTask("magnific", "a/../../b")], lambda *a: None)
    assert "cannot use" in str(exc.value) and magnific.requests == []


def test_rerun_of_an_unplaceable_job_is_a_sentence(data_dir):
    async def go():
        s = EditSession(session_id="x")
        await s.open(data_dir / "coffee.png")
        await s.replace_mask(ellipse_mask(400, 600, 10, 10, 30, 30), "m")
        from inpaint_studio.providers import create_provider as cp

        job = s.generate(document_request(s, {"prompt": "", "num_images": 1}), cp("local"))
        await s.runner.wait(job)
        await until(lambda: not s.busy)
        for lay in list(s.doc.layers):
            s.discard(lay.key)
        assert await s.expand((0, 0, 50, 0))
        job2 = s.generate(
            replace(document_request(s, {"prompt": "", "num_images": 1})), cp("local")
        )
        await s.runner.wait(job2)
        await until(lambda: not s.busy)
        for lay in list(s.doc.layers):
            s.discard(lay.key)
        s.undo.undo()  # discard
        s.undo.undo()  # discard… until the Expand is undone
        while s.doc.photo.size != (600, 400):
            s.undo.undo()
        moved = s.doc.job_mask(job.id)
        assert moved.shape == (400, 600)
        with pytest.raises(MaskError):  # made on the expanded canvas, reaching into the margin
            s.doc.job_mask(job2.id)
        await s.aclose(keep_recovery=False)

    asyncio.run(go())


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are a POSIX thing")
def test_a_fifo_as_a_project_is_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe.inpaint"
    os.mkfifo(fifo)
    res = cli("project", "info", fifo)
    assert res.returncode == 2 and "not a regular file" in res.stderr


# --- every key, in every error field, of every provider -------------------------------------

ERROR_FIELDS = [
    "error",
    "message",
    "detail",
    "errorMessage",
    "title",
    "errorCode",
    "invalid_params",
]


def _error_body(field: str, text: str) -> dict:
    if field == "invalid_params":
        return {"title": "Invalid request", "invalid_params": [{"name": "prompt", "reason": text}]}
    return {field: text}


@pytest.mark.parametrize("status", [402, 503])
@pytest.mark.parametrize("name", ["ideogram", "ideogram-v2", "cometapi", "magnific", "1min"])
def test_each_providers_key_in_every_error_field_is_redacted_everywhere(
    name, status, data_dir, tmp_path, isolated_settings
):
    from inpaint_studio.providers import CometApiProvider, IdeogramV2Provider, OneMinProvider

    makers = {
        "ideogram": (
            lambda: IdeogramServer(api_key=SECRET),
            lambda c, s: create_provider(
                "ideogram", c, base_url=s.base_url, api_key=SECRET, retry=FAST
            ),
        ),
        "ideogram-v2": (
            lambda: IdeogramServer(api_key=SECRET),
            lambda c, s: IdeogramV2Provider(c, base_url=s.base_url, api_key=SECRET, retry=FAST),
        ),
        "cometapi": (
            lambda: IdeogramServer(api_key=SECRET, auth="bearer", prefix="/ideogram"),
            lambda c, s: CometApiProvider(c, base_url=s.base_url, api_key=SECRET, retry=FAST),
        ),
        "magnific": (
            lambda: MagnificServer(api_key=SECRET),
            lambda c, s: MagnificProvider(
                c, base_url=s.base_url, api_key=SECRET, retry=FAST, poll=QUICK_POLL
            ),
        ),
        "1min": (
            lambda: OneMinServer(api_key=SECRET),
            lambda c, s: OneMinProvider(
                c, base_url=s.base_url, api_key=SECRET, retry=FAST, poll=QUICK_POLL
            ),
        ),
    }
    make_server, make_provider = makers[name]
    srv = make_server().start()
    photo = load_image(data_dir / "coffee.png")
    speed = "TURBO" if name in ("ideogram-v2", "cometapi") else "DEFAULT"
    request = EditRequest(
        prompt="x",
        photo=photo,
        mask=ellipse_mask(400, 600, 280, 375, 45, 40),
        rendering_speed=speed,
    )
    texts = []
    try:
        for field in ERROR_FIELDS:
            for spelled in (f"Api-Key: {SECRET}", f"Bearer {SECRET}\x1b[2J"):
                srv.script = [(status, _error_body(field, f"refused {spelled}"), {})] * 4

                async def go():
                    async with httpx.AsyncClient(timeout=10) as client:
                        runner = JobRunner(client, journal=Journal(tmp_path / "journal", "k"))
                        return await runner.wait(runner.submit(request, make_provider(client, srv)))

                job = asyncio.run(go())
                assert job.stage == Stage.FAILED
                texts += [str(job.error), job.error.details, *job.notes]
    finally:
        srv.stop()
    joined = "\n".join(texts)
    assert SECRET not in joined and "\x1b" not in joined
    assert "[key]" in joined
    assert SECRET not in all_written_text(tmp_path, isolated_settings)


# --- what the model test found, kept as plain regressions ---------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("change", ["expand", "accept-undo-accept", "reblend"])
async def test_the_recovery_copy_follows_files_that_change_under_one_name(
    change, data_dir, tmp_path
):
    import shutil

    from inpaint_studio.providers import create_provider as cp

    s = EditSession(
        journal=Journal(tmp_path / "j", "a"), session_id="a", recovery_folder=tmp_path / "rec"
    )
    await s.open(data_dir / "coffee.png")
    await s.replace_mask(ellipse_mask(400, 600, 280, 375, 45, 40), "m")

    async def results(n: int):
        job = s.generate(
            document_request(s, {"prompt": "", "num_images": n, "seed": 3}), cp("local")
        )
        await s.runner.wait(job)
        await until(lambda: not s.busy)
        return job

    await s.save_recovery()  # the copy exists before the change
    if change == "expand":
        assert await s.expand((30, 0, 0, 20))
    elif change == "accept-undo-accept":
        await results(2)
        assert await s.accept()
        await s.save_recovery()
        s.undo.undo()
        s.show_variant(2)
        s.set_opacity(s.doc.selected, 0.5)
        assert await s.accept()  # a different edit under the same accepted/0.png
    else:
        await results(1)
        await s.save_recovery()
        assert await s.reblend(None, 14, False)
    await s.save_recovery()
    expected = (s.doc.photo.size, s.doc.photo.rgb.tobytes(), s.doc.composite().tobytes())
    copy = tmp_path / "crashed"
    shutil.copytree(tmp_path / "rec", copy)
    other = EditSession(session_id="b", recovery_folder=tmp_path / "rec-b")
    await other.restore(copy)
    assert (
        other.doc.photo.size,
        other.doc.photo.rgb.tobytes(),
        other.doc.composite().tobytes(),
    ) == expected
    await other.aclose(keep_recovery=False)
    await s.aclose(keep_recovery=False)


def test_resume_is_a_declared_feature_of_every_provider_with_remote_work(
    photo_and_mask, onemin, tmp_path
):
    """Issue 18: `resume` was Magnific-only; 1min.ai records are fetched by the same command."""
    photo, mask = photo_and_mask
    res = edit(photo, mask, onemin, provider="1min", key_env="ONEMIN_API_KEY")
    assert res.returncode == 0, res.stderr
    record = next(iter(onemin.records))
    out = tmp_path / "fetched"
    res = cli(
        "resume",
        record,
        "--provider",
        "1min",
        "--base-url",
        onemin.base_url,
        "--out",
        out,
        "--json",
        env={"ONEMIN_API_KEY": SECRET},
    )
    assert res.returncode == 0, res.stderr
    paths = json.loads(res.stdout)["paths"]
    assert len(paths) == 1 and Path(paths[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
