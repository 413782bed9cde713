"""Grain matching on a grainy photo with a smooth fill upscaled to fit.

    python benchmarks/bench_grain.py

The astronaut photo (tests/data, public domain) at 4096² with σ = 5 levels of Gaussian
sensor-like noise; a 5 % elliptical mask; the fill is the clean photo's region at 1024×1024
(a smooth 1 MP result), upscaled ~2.5× to fit. Targets: the patch's high-frequency level
≥ 0.6× the ring's (a plain composite gives ~0.1–0.2) and no seam: the gradient along the mask
boundary ≤ 1.5× the ring's.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inpaint_studio.core.pipeline.composite import blend_into, build_layer, noise_level  # noqa: E402
from inpaint_studio.core.pipeline.context import plan_region  # noqa: E402
from inpaint_studio.core.pixels.imaging import load_image  # noqa: E402


def main() -> None:
    size = 4096
    base = cv2.resize(
        load_image(ROOT / "tests" / "data" / "astronaut.png").rgb,
        (size, size),
        interpolation=cv2.INTER_CUBIC,
    )
    photo = np.clip(base + np.random.default_rng(1).normal(0, 5, base.shape), 0, 255).astype(
        np.uint8
    )
    yy, xx = np.ogrid[:size, :size]
    area = 0.05 * size * size
    rx = (area / np.pi * 1.4) ** 0.5
    ry = area / np.pi / rx
    mask = ((yy - size / 2) / ry) ** 2 + ((xx - size / 2) / rx) ** 2 <= 1
    region = plan_region(mask)
    fill = cv2.resize(
        base[region.y0 : region.y1, region.x0 : region.x1],
        (1024, 1024),
        interpolation=cv2.INTER_AREA,
    )
    inner = cv2.erode(mask.view(np.uint8), np.ones((15, 15), np.uint8)) > 0
    ring = (~mask) & (cv2.distanceTransform((~mask).view(np.uint8), cv2.DIST_L2, 3) <= 16)
    edge = mask ^ (cv2.erode(mask.view(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    print(f"{size}×{size}, σ 5 noise, 5 % mask, fill 1024×1024 upscaled {region.width / 1024:.2f}×")
    for grain in (False, True):
        t = time.perf_counter()
        layer = build_layer(photo, mask, region, fill, grain=grain)
        dt = time.perf_counter() - t
        out = photo.copy()
        blend_into(out, layer)
        f = out.astype(np.float32)
        grad = np.sqrt(
            cv2.Sobel(f, cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(f, cv2.CV_32F, 0, 1) ** 2
        ).mean(axis=2)
        hf = noise_level(out, inner).mean() / noise_level(out, ring).mean()
        seam = grad[edge].mean() / grad[ring].mean()
        print(
            f"  grain {'on ' if grain else 'off'}: patch HF {hf:.2f}× the ring's (target ≥ 0.6), "
            f"boundary gradient {seam:.2f}× the ring's (target ≤ 1.5), build_layer {dt * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
