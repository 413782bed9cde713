"""A misbehaving server on 127.0.0.1 (issue 10): answers are bounded, every wait has a
deadline, redirects are checked before they are followed, keys never reach the user's eyes."""

from __future__ import annotations

import asyncio
import gzip
import io
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from inpaint_studio.core.errors import DownloadError, ProviderError, RateLimitedError
from inpaint_studio.core.pipeline.net import download_image
from inpaint_studio.core.pipeline.request import EditRequest
from inpaint_studio.providers import create_provider
from inpaint_studio.providers.http import HttpTransport

from .conftest import document_request, ellipse_mask

ROOT = Path(__file__).resolve().parent.parent


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), 128, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


class FaultServer:
    """Routes: /ok, /stall (headers, then silence), /trickle (a byte a second),
    /redirect?to=URL, /bomb (1 MB gzip of 200 MB of JSON), /big (9 MB of JSON)."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                server.hits.append(self.path)
                path = self.path.split("?")[0]
                try:
                    if path == "/ok":
                        body = png_bytes()
                        self.send_response(200)
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                    elif path == "/stall":
                        self.send_response(200)
                        self.send_header("Content-Length", "1000")
                        self.end_headers()
                        self.wfile.flush()
                        time.sleep(5)
                    elif path == "/trickle":
                        self.send_response(200)
                        self.send_header("Content-Length", "1000")
                        self.end_headers()
                        for _ in range(20):
                            self.wfile.write(b"x")
                            self.wfile.flush()
                            time.sleep(0.3)
                    elif path == "/redirect":
                        self.send_response(302)
                        self.send_header("Location", self.path.split("to=", 1)[1])
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                    elif path in ("/bomb", "/big"):
                        raw = (
                            b'{"data": "'
                            + b"a" * (200_000_000 if path == "/bomb" else 9_000_000)
                            + b'"}'
                        )
                        body = gzip.compress(raw, compresslevel=1) if path == "/bomb" else raw
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        if path == "/bomb":
                            self.send_header("Content-Encoding", "gzip")
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def faults():
    srv = FaultServer()
    yield srv
    srv.stop()


@pytest.mark.asyncio
async def test_a_stalled_or_trickling_download_ends_with_a_sentence(faults):
    async with httpx.AsyncClient() as client:
        data, pixels = await download_image(client, faults.base + "/ok", allow_loopback=True)
        assert pixels.shape == (8, 8, 3)
        t = time.monotonic()
        with pytest.raises(DownloadError, match="stalled: no data for 1 s"):
            await download_image(
                client, faults.base + "/stall", stall=1.0, attempts=1, allow_loopback=True
            )
        with pytest.raises(DownloadError, match="had not finished after 2 s"):
            await download_image(
                client, faults.base + "/trickle", stall=1.0, deadline=2.0, allow_loopback=True
            )
        assert time.monotonic() - t < 6


@pytest.mark.asyncio
async def test_redirects_are_checked_before_they_are_followed(faults):
    async with httpx.AsyncClient() as client:
        ok = f"{faults.base}/redirect?to={faults.base}/ok"
        assert (await download_image(client, ok, allow_loopback=True))[1].shape == (8, 8, 3)
        faults.hits.clear()
        for target in ("http://198.51.100.7/x.png", "file:///etc/passwd", "ftp://example.com/a"):
            with pytest.raises(DownloadError, match="cannot be used safely"):
                await download_image(
                    client, f"{faults.base}/redirect?to={target}", allow_loopback=True
                )
        assert all(h.startswith("/redirect") for h in faults.hits)  # nothing else was requested
        for link in (
            "http://198.51.100.7/r.png",
            "file:///etc/passwd",
            "data:image/png;base64,AAAA",
        ):
            with pytest.raises(
                DownloadError
            ) as exc:  # a provider failure (exit 1), not the user's input
                await download_image(client, link)
            assert exc.value.exit_code == 1


@pytest.mark.asyncio
async def test_links_to_private_and_link_local_hosts_are_never_connected_to(faults):
    """Issue 17: a result link to 169.254.169.254 (cloud metadata) was connected to three times."""
    async with httpx.AsyncClient() as client:
        faults.hits.clear()
        for link in (
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.1/r.png",
            "https://[fe80::1]/r.png",
            "https://[::ffff:169.254.169.254]/x",
            "https://0.0.0.0/x",
        ):
            with pytest.raises(DownloadError, match="private or local address"):
                await download_image(client, link)
        # loopback only when the provider itself is on this computer, and never by a redirect otherwise
        with pytest.raises(DownloadError, match="private or local address"):
            await download_image(client, faults.base + "/ok")
        target = "https://169.254.169.254/x"
        with pytest.raises(DownloadError, match="private or local address"):
            await download_image(client, f"{faults.base}/redirect?to={target}", allow_loopback=True)
        assert all(h.startswith("/redirect") for h in faults.hits)


@pytest.mark.asyncio
async def test_json_answers_are_capped_after_decompression(faults):
    async with httpx.AsyncClient() as client:
        http = HttpTransport(client, "Test provider")
        for route in ("/bomb", "/big"):
            with pytest.raises(ProviderError, match="answer larger than 8 MB"):
                await http.get_json(faults.base + route, headers={})


@pytest.fixture
def request_(data_dir):
    from inpaint_studio.core.pixels.imaging import load_image

    photo = load_image(data_dir / "coffee.png")
    return EditRequest(prompt="a spoon", photo=photo, mask=ellipse_mask(400, 600, 200, 300, 40, 40))


@pytest.mark.asyncio
async def test_long_retry_after_ends_the_job_with_a_sentence(server, request_):
    from inpaint_studio.core.pipeline.jobs import JobRunner

    async with httpx.AsyncClient() as client:
        provider = create_provider(
            "ideogram", client, base_url=server.base_url, api_key=server.api_key
        )
        server.script = [(429, {"error": "slow down"}, {"Retry-After": "180"})]
        runner = JobRunner(client)
        t = time.monotonic()
        job = await runner.wait(runner.submit(request_, provider))
        assert time.monotonic() - t < 10
        assert isinstance(job.error, RateLimitedError) and "asks to wait 3 minutes" in str(
            job.error
        )


@pytest.mark.asyncio
async def test_server_text_is_redacted_of_the_key(server, request_):
    from inpaint_studio.core.pipeline.jobs import JobRunner

    async with httpx.AsyncClient() as client:
        provider = create_provider(
            "ideogram", client, base_url=server.base_url, api_key=server.api_key
        )
        server.script = [(400, {"error": f"Key {server.api_key} is not valid for this model"}, {})]
        job = await JobRunner(client).wait(JobRunner(client).submit(request_, provider))
        assert job.error is not None and server.api_key not in str(job.error) + job.error.details
        assert "[key]" in str(job.error)


def _cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "inpaint_studio", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env=env,
    )


def test_local_edit_with_the_whole_photo_masked_is_refused(data_dir, tmp_path):
    mask = tmp_path / "all.png"
    Image.new("L", (600, 400), 0).save(mask)  # black = edit, everywhere
    r = _cli(
        "edit",
        data_dir / "coffee.png",
        "--mask",
        mask,
        "--provider",
        "local",
        "--out",
        tmp_path / "out",
    )
    assert r.returncode == 2 and "covers the whole photo" in r.stderr and r.stderr.count("\n") == 1
    assert not list((tmp_path / "out").glob("*.png"))


def test_messages_name_the_file_and_the_output_folder_is_checked_first(data_dir, tmp_path):
    text = tmp_path / "text.png"
    text.write_text("not an image")
    mask = tmp_path / "m.png"
    Image.fromarray(
        np.where(ellipse_mask(400, 600, 200, 300, 40, 40), 0, 255).astype(np.uint8)
    ).save(mask)
    r = _cli(
        "edit", data_dir / "coffee.png", "--mask", mask, "--provider", "local", "--style-ref", text
    )
    assert r.returncode == 2 and "text.png" in r.stderr
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    r = _cli(
        "edit",
        data_dir / "coffee.png",
        "--mask",
        mask,
        "--provider",
        "local",
        "--out",
        blocked / "sub",
    )
    assert r.returncode == 2 and "output folder" in r.stderr and "nothing was sent" in r.stderr


def test_concurrent_runs_into_one_folder_never_share_a_name(data_dir, tmp_path):
    mask = tmp_path / "m.png"
    Image.fromarray(
        np.where(ellipse_mask(400, 600, 200, 300, 10, 10), 0, 255).astype(np.uint8)
    ).save(mask)
    out = tmp_path / "out"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "inpaint_studio",
                "edit",
                str(data_dir / "coffee.png"),
                "--mask",
                str(mask),
                "--provider",
                "local",
                "--method",
                "telea",
                "--out",
                str(out),
                "--json",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    import json

    reported = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, stderr
        reported += [v["path"] for v in json.loads(stdout)["variants"]]
    assert len(set(reported)) == 4 and len(list(out.glob("coffee-edit-*[0-9].png"))) == 4


@pytest.mark.asyncio
async def test_magnific_task_ids_are_on_disk_before_the_next_task_and_named_on_failure(
    data_dir, tmp_path
):
    """Task 1 is created (paid), task 2 is refused with 402: the recovery copy already holds
    task 1's id, and the sentence says how to fetch it."""
    import json

    from inpaint_studio.core.document.session import EditSession

    from .servers import MagnificServer

    srv = MagnificServer().start()
    srv.polls_before_done = 10_000
    try:
        async with httpx.AsyncClient() as client:
            s = EditSession(client=client, recovery_folder=tmp_path / "rec")
            await s.open(data_dir / "coffee.png")
            await s.replace_mask(ellipse_mask(400, 600, 200, 300, 40, 40), "Mask")
            provider = create_provider(
                "magnific", client, base_url=srv.base_url, api_key=srv.api_key
            )
            original = srv.api

            def api(rec, body):
                if rec.method == "POST" and len(srv.posts) == 1:
                    manifest = json.loads((tmp_path / "rec" / "manifest.json").read_text())
                    on_disk.extend(
                        t["task_id"] for j in manifest["jobs"] for t in j["remote_tasks"]
                    )
                    return 402, {"message": "Not enough credits"}, {}
                return original(rec, body)

            on_disk: list[str] = []
            srv.api = api
            job = await s.runner.wait(
                s.generate(document_request(s, {"prompt": "a spoon", "num_images": 2}), provider)
            )
            first = job.prepared.remote_tasks[0].task_id
            assert len(srv.posts) == 1 and len(job.prepared.remote_tasks) == 1
            assert on_disk == [
                first
            ]  # durably written before the second (refused) task was asked for
            assert f"inpaint-studio resume {first} --provider magnific" in str(job.error)
            assert job.error.exit_code == 1
            await s.aclose(keep_recovery=False)
    finally:
        srv.stop()


@pytest.mark.asyncio
async def test_a_bug_in_a_provider_becomes_a_sentence_and_a_crash_report(
    request_, tmp_path, monkeypatch
):
    from inpaint_studio.core.pipeline.jobs import JobRunner
    from inpaint_studio.providers import LocalProvider

    monkeypatch.setenv("INPAINT_STUDIO_CONFIG_DIR", str(tmp_path / "cfg"))

    class Broken(LocalProvider):
        async def generate(self, request, prepared, report):
            raise KeyError("internal_thing")

    job = await JobRunner().wait(JobRunner().submit(request_, Broken()))
    text = str(job.error)
    assert "KeyError" not in text and "internal_thing" not in text and "Unexpected" not in text
    report = Path(text.split("written to ", 1)[1].rstrip("."))
    assert report.exists() and "KeyError" in report.read_text()


@pytest.mark.asyncio
async def test_the_poll_limit_holds_even_when_a_status_request_hangs():
    from inpaint_studio.core.errors import ProviderTimeoutError
    from inpaint_studio.providers.base import PollPolicy

    async def hangs():
        await asyncio.sleep(30)

    t = time.monotonic()
    with pytest.raises(ProviderTimeoutError, match="after 1 s"):
        await PollPolicy(first=0.1, timeout=1.0).run(
            hangs, lambda limit: ProviderTimeoutError(f"not done after {limit:.0f} s")
        )
    assert time.monotonic() - t < 3
