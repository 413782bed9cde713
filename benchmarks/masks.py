"""Masks the benchmarks share."""

from __future__ import annotations

import numpy as np


def five_percent(h: int, w: int) -> np.ndarray:
    """``(h, w) bool``: an ellipse covering 5 % of the photo (1.4 : 1), centred a little
    above and right of the middle, as a typical retouch."""
    yy, xx = np.ogrid[:h, :w]
    area = 0.05 * h * w
    rx = (area / np.pi * 1.4) ** 0.5
    ry = area / np.pi / rx
    return ((yy - h * 0.45) / ry) ** 2 + ((xx - w * 0.55) / rx) ** 2 <= 1
