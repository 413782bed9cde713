"""Core speed on the 18 MP benchmark photo (issue #2). Prints figures; asserts nothing.

    python benchmarks/bench_core.py [PHOTO]

Measures, with a 5 % elliptical mask: load; prepare-upload (region, crop, encode) for
``auto`` and ``full`` context and its ratio to a bare Pillow decode + JPEG encode of the same
photo (target ≤ 1.3); build + apply of the composite layer (target ≤ 50 ms); and the wall
time of a whole ``inpaint-studio edit --provider local`` run (target ≤ 7 s).
"""

from __future__ import annotations

import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inpaint_studio.core.pipeline.composite import apply_layer, build_layer  # noqa: E402
from inpaint_studio.core.pipeline.context import extract  # noqa: E402
from inpaint_studio.core.pipeline.jobs import prepare  # noqa: E402
from inpaint_studio.core.pipeline.request import ContextMode, EditRequest  # noqa: E402
from inpaint_studio.core.pixels.imaging import load_image  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "fixtures" / "large" / "elephants.jpg"


def best(fn, n=3):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times), out


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    print(f"photo: {path.name}, {path.stat().st_size / 1e6:.1f} MB")
    t_load, _, photo = best(lambda: load_image(path))
    h, w = photo.rgb.shape[:2]
    print(f"load:               {t_load * 1000:7.0f} ms  ({w}×{h}, {w * h / 1e6:.1f} MP)")

    def bare():
        img = Image.open(path)
        img.load()
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=95)
        return buf

    t_bare, _, _ = best(bare)
    print(f"bare decode+JPEG:   {t_bare * 1000:7.0f} ms")
    area = 0.05 * w * h
    rx = (area / np.pi * 1.4) ** 0.5
    ry = area / np.pi / rx
    yy, xx = np.ogrid[:h, :w]
    mask = ((yy - h * 0.45) / ry) ** 2 + ((xx - w * 0.55) / rx) ** 2 <= 1
    print(f"mask:               {mask.mean() * 100:7.2f} % of the photo")
    for mode in (ContextMode.AUTO, ContextMode.FULL):
        req = EditRequest(prompt="x", photo=photo, mask=mask, context=mode)
        t_prep, _, prepared = best(lambda req=req: prepare(req))
        enc = prepared.encoded
        print(
            f"prepare-upload {mode.value:>4}: {t_prep * 1000:7.0f} ms  ratio {t_prep / t_bare:.2f}  "
            f"→ {enc.format} {enc.width}×{enc.height} {len(enc.data) / 1e6:.2f} MB (region {prepared.region.mode.value})"
        )
    req = EditRequest(prompt="x", photo=photo, mask=mask)
    prepared = prepare(req)
    sent, sent_mask = extract(photo.rgb, mask, prepared.region)
    result = np.asarray(Image.fromarray(sent).resize((1024, 1024)))
    t_layer, med_layer, layer = best(
        lambda: build_layer(photo.rgb, mask, prepared.region, result), n=5
    )
    t_apply, med_apply, _ = best(lambda: apply_layer(photo.rgb, layer), n=5)
    print(f"composite build:    {t_layer * 1000:7.1f} ms (median {med_layer * 1000:.1f})")
    print(
        f"composite apply:    {t_apply * 1000:7.1f} ms (median {med_apply * 1000:.1f})  total {(t_layer + t_apply) * 1000:.1f} ms"
    )
    print(
        f"layer memory:       {layer.nbytes / 1e6:7.2f} MB (photo {photo.rgb.nbytes / 1e6:.1f} MB)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        mpath = Path(tmp) / "mask.png"
        Image.fromarray(np.where(mask, 0, 255).astype(np.uint8)).save(mpath)
        t = time.perf_counter()
        res = subprocess.run(
            [
                sys.executable,
                "-m",
                "inpaint_studio",
                "edit",
                str(path),
                "--mask",
                str(mpath),
                "--provider",
                "local",
                "--out",
                tmp,
                "--seed",
                "1",
            ],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - t
        print(
            f"edit --provider local wall: {wall:.2f} s (exit {res.returncode}) {res.stderr.strip()}"
        )


if __name__ == "__main__":
    main()
