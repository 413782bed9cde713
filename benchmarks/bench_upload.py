"""What is uploaded for a 5 % mask on the 18 MP photo, and whether the edit loses quality.

    python benchmarks/bench_upload.py [PHOTO]

Compares today's rule (a region larger than the model's answer is sent at exactly the
answer size nearest its aspect ratio, lossless when that fits 1.5 MB, else a q98 JPEG) with the earlier one (the whole crop, lossless PNG). Quality is
measured with a drift-free emulated model: it returns exactly what it was sent, resampled
to the Ideogram resolution nearest the region's aspect ratio (as the real model answers),
and the result is composited back as usual (no feather, colour match or grain); the error is the
mean absolute difference from the original inside the mask, in levels (0–255).
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.masks import five_percent  # noqa: E402
from inpaint_studio.core.pipeline.composite import build_layer  # noqa: E402
from inpaint_studio.core.pipeline.context import extract, plan_region  # noqa: E402
from inpaint_studio.core.pipeline.prepare import answer_size, prepare  # noqa: E402
from inpaint_studio.core.pipeline.request import IDEOGRAM_ANSWER_SIZES, EditRequest  # noqa: E402
from inpaint_studio.core.pixels.imaging import encode_for_upload, load_image  # noqa: E402


def emulated_answer(encoded: bytes, width: int, height: int) -> np.ndarray:
    sent = np.asarray(Image.open(io.BytesIO(encoded)).convert("RGB"))
    aw, ah = answer_size(width, height, IDEOGRAM_ANSWER_SIZES)
    return cv2.resize(sent, (aw, ah), interpolation=cv2.INTER_AREA)


def error_inside(original: np.ndarray, mask: np.ndarray, region, answer: np.ndarray) -> float:
    layer = build_layer(original, mask, region, answer, feather=0, colour_match=False, grain=False)
    x0, y0, x1, y1 = layer.box
    m = mask[y0:y1, x0:x1]
    return float(np.abs(layer.rgb[m].astype(int) - original[y0:y1, x0:x1][m].astype(int)).mean())


def main(path: Path) -> None:
    photo = load_image(path)
    h, w = photo.rgb.shape[:2]
    mask = five_percent(h, w)
    req = EditRequest(prompt="x", photo=photo, mask=mask)
    t = time.perf_counter()
    now = prepare(req)
    t_now = time.perf_counter() - t
    e = now.encoded
    err_now = error_inside(photo.rgb, mask, now.region, emulated_answer(e.data, e.width, e.height))
    # the earlier rule: the whole crop at full resolution, lossless when it fits
    region = plan_region(mask)
    t = time.perf_counter()
    image, _ = extract(photo.rgb, mask, region)
    before = encode_for_upload(image)
    t_before = time.perf_counter() - t
    err_before = error_inside(
        photo.rgb, mask, region, emulated_answer(before.data, before.width, before.height)
    )
    print(f"5 % mask on {w}×{h}: region {region.width}×{region.height} px")
    print(
        f"  now:     sent {e.width}×{e.height} ({e.width * e.height / 1e6:.2f} MP) {e.format} "
        f"{'lossless' if e.quality is None else f'q{e.quality}'}, "
        f"{len(e.data) / 1e6:.2f} MB, prepared in {t_now * 1000:.0f} ms; error inside the mask {err_now:.2f} levels"
    )
    print(
        f"  earlier: sent {before.width}×{before.height} ({before.width * before.height / 1e6:.2f} MP) {before.format}, "
        f"{len(before.data) / 1e6:.2f} MB, prepared in {t_before * 1000:.0f} ms; error inside the mask {err_before:.2f} levels"
    )
    print("  targets: upload ≤ 1.5 MB and ≤ 1.6 MP, error no worse than earlier")


if __name__ == "__main__":
    main(
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else ROOT.parent / "shared" / "fixtures" / "large" / "elephants.jpg"
    )
