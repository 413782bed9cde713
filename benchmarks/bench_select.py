"""Select subject on the 18 MP benchmark photo: time and IoU against a known object.

    python benchmarks/bench_select.py [PHOTO]

The known object: the astronaut photo (tests/data, public domain), cut out as an ellipse,
scaled ×4 and pasted onto the photo, so the true selection is exactly that ellipse. Target:
≤ 2 s on the 18 MP photo (GrabCut on a ~0.4 MP copy, the edge refined at full resolution).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inpaint_studio.core.pixels.imaging import load_image  # noqa: E402
from inpaint_studio.core.pixels.select import select_subject  # noqa: E402


def known_object(
    rgb: np.ndarray, scale: int = 4
) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
    """``rgb`` with the astronaut's face pasted as an ellipse; returns (photo, truth, box)."""
    obj = load_image(ROOT / "tests" / "data" / "astronaut.png").rgb
    obj = cv2.resize(
        obj, (obj.shape[1] * scale, obj.shape[0] * scale), interpolation=cv2.INTER_CUBIC
    )
    H, W = rgb.shape[:2]
    cy, cx, ry, rx = H // 2, int(W * 0.6), 110 * scale, 80 * scale
    yy, xx = np.ogrid[:H, :W]
    truth = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    out = rgb.copy()
    ys, xs = np.nonzero(truth)
    oy, ox = obj.shape[0] // 2, obj.shape[1] // 2
    out[ys, xs] = obj[ys - cy + oy, xs - cx + ox]
    pad = 10 * scale
    return out, truth, (cx - rx - pad, cy - ry - pad, cx + rx + pad, cy + ry + pad)


def main(path: Path) -> None:
    photo, truth, box = known_object(load_image(path).rgb)
    times, ious = [], []
    for _ in range(3):
        t = time.perf_counter()
        sel = select_subject(photo, box)
        times.append(time.perf_counter() - t)
        ious.append((sel & truth).sum() / (sel | truth).sum())
    h, w = photo.shape[:2]
    print(
        f"select subject on {w}×{h} ({w * h / 1e6:.1f} MP), box {box[2] - box[0]}×{box[3] - box[1]} px: "
        f"median {statistics.median(times):.2f} s (runs {', '.join(f'{t:.2f}' for t in times)}), "
        f"IoU {statistics.median(ious):.3f} (target ≤ 2 s)"
    )


if __name__ == "__main__":
    main(
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else ROOT.parent / "shared" / "fixtures" / "large" / "elephants.jpg"
    )
