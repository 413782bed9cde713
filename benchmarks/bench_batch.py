"""Batch at the provider's limit: 12 photos × 2 images against a loopback Ideogram server that
enforces 10 images in flight and takes 1.5 s a request.

    python benchmarks/bench_batch.py

Ideal time: 24 images ÷ 10 in flight × 1.5 s = 3.6 s. Target: within 1.6× (5.76 s), with no
429 reaching the user. Runs the real command in-process (imports paid before timing), once at
the server's limit and once against an organisation whose limit (4) is below the provider's
default (10), where the window has to shrink.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inpaint_studio.cli import main as cli_main  # noqa: E402

#: The loopback server runs in its own process (its image work must not share our GIL).
SERVER = """
import sys, time
sys.path.insert(0, {root!r})
from tests.servers import IdeogramServer
s = IdeogramServer(api_key="bench").start()
s.inflight_limit, s.answer_delay = {limit}, {delay}
print(s.base_url, flush=True)
for line in sys.stdin:
    print(s.max_inflight, s.refused_inflight, flush=True)
"""

PHOTOS, IMAGES, DELAY = 12, 2, 1.5


def run(limit: int, folder: Path) -> None:
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(root=str(ROOT), limit=limit, delay=DELAY)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    base = proc.stdout.readline().strip()
    os.environ["IDEOGRAM_API_KEY"], os.environ["IDEOGRAM_BASE_URL"] = "bench", base
    out = folder / f"out-{limit}"
    argv = [
        "batch",
        *map(str, sorted(folder.glob("p*.jpg"))),
        "--mask",
        str(folder / "mask.png"),
        "--provider",
        "ideogram",
        "--prompt",
        "a moon",
        "--num-images",
        str(IMAGES),
        "--out",
        str(out),
        "--json",
    ]
    buf = io.StringIO()
    t = time.perf_counter()
    with contextlib.redirect_stdout(buf):
        code = cli_main(argv)
    elapsed = time.perf_counter() - t
    proc.stdin.write("stats\n")
    proc.stdin.flush()
    most, refused = map(int, proc.stdout.readline().split())
    proc.kill()
    report = json.loads(buf.getvalue())
    done = sum(p["status"] == "done" for p in report["photos"])
    print(
        f"limit {limit} images in flight: {done}/{PHOTOS} done, exit {code}, {elapsed:.2f} s "
        f"(ideal {PHOTOS * IMAGES / limit * DELAY:.2f} s, ratio {elapsed / (PHOTOS * IMAGES / limit * DELAY):.2f}; "
        f"target ≤ 1.6), most in flight {most}, 429s answered {refused}, "
        f"none reached the user: {done == PHOTOS and code == 0}"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["INPAINT_STUDIO_CONFIG_DIR"] = str(folder / "config")
        os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
        src = (ROOT / "tests" / "data" / "rocket.jpg").read_bytes()
        for i in range(PHOTOS):
            (folder / f"p{i:02d}.jpg").write_bytes(src)
        mask = np.full((427, 640), 255, np.uint8)
        yy, xx = np.ogrid[:427, :640]
        mask[((yy - 200) / 40) ** 2 + ((xx - 320) / 30) ** 2 <= 1] = 0
        Image.fromarray(mask).save(folder / "mask.png")
        for limit in (10, 4):
            run(limit, folder)


if __name__ == "__main__":
    main()
