"""Ideogram 4.5 Precise Edit against 3.0 on the 18 MP photo with a 5 % mask.

    python benchmarks/bench_precise.py [PHOTO] [--runs N]

Both paths run end to end (prepare → upload → the server's answer → download → composite)
against the loopback server of the tests (``tests/servers.py``), which answers at once: the
figures are this program's own cost. Printed for each: bytes uploaded (image + mask), the
region and the size it was sent at, wall time (median of N runs), and whether the edit's
pixels are the model's 1:1 (the server paints the edit area one seed colour: every masked
pixel of the composite must be exactly that colour with no feather or colour match; a
resampled answer blurs the colour at the mask's edge).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.masks import five_percent  # noqa: E402
from inpaint_studio.core.pipeline.composite import apply_layer  # noqa: E402
from inpaint_studio.core.pipeline.jobs import JobRunner  # noqa: E402
from inpaint_studio.core.pipeline.request import EditRequest  # noqa: E402
from inpaint_studio.core.pixels.imaging import load_image  # noqa: E402
from inpaint_studio.providers import IdeogramProvider  # noqa: E402
from inpaint_studio.providers.base import PollPolicy  # noqa: E402
from tests.servers import IdeogramServer  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "fixtures" / "large" / "elephants.jpg"


async def one(server, request, model: str) -> tuple[float, int, object, object]:
    async with httpx.AsyncClient(timeout=120) as client:
        provider = IdeogramProvider(
            client,
            api_key=server.api_key,
            base_url=server.base_url,
            model=model,
            poll=PollPolicy(first=0.01, factor=1.5, longest=0.05, timeout=60),
        )
        before = len(server.edit_requests)
        t = time.perf_counter()
        runner = JobRunner(client)
        job = await runner.wait(runner.submit(request, provider))
        elapsed = time.perf_counter() - t
        if job.error is not None:
            raise SystemExit(f"{model}: {job.error}")
        sent = server.edit_requests[before]
        upload = sum(len(p.data) for p in sent.parts if p.name in ("image", "mask"))
        return elapsed, upload, job, sent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("photo", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    photo = load_image(args.photo)
    h, w = photo.rgb.shape[:2]
    mask = five_percent(h, w)
    base = EditRequest(prompt="a red balloon", photo=photo, mask=mask, seed=11)
    exact = replace(base, feather=0, colour_match=False)
    server = IdeogramServer().start()
    print(f"{args.photo.name}: {w}×{h} ({w * h / 1e6:.1f} MP), mask {mask.mean() * 100:.1f} %")
    try:
        for model in ("ideogram-3", "ideogram-4.5"):
            times = []
            for _ in range(args.runs):
                elapsed, upload, job, sent = asyncio.run(one(server, exact, model))
                times.append(elapsed)
            r = job.prepared.region
            enc = job.prepared.encoded
            out = apply_layer(photo.rgb, job.variants[0].layer)
            colour = np.random.default_rng(11).integers(0, 256, 3, dtype=np.uint8)
            share = float((out[mask] == colour).all(axis=1).mean())
            outside = bool(np.array_equal(out[~mask], photo.rgb[~mask]))
            print(
                f"{model:13s} region {r.width}×{r.height} sent {enc.width}×{enc.height} "
                f"{enc.format} (scale {r.scale * enc.scale:.3f}); upload {upload / 1e6:.2f} MB; "
                f"end to end {statistics.median(times):.2f} s (median of {len(times)}); "
                f"masked pixels exactly the model's: {share * 100:.1f} %; "
                f"outside the mask bit-identical: {outside}"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
