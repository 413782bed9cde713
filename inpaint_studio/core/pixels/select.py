"""Select subject: the object inside a dragged rectangle, offline, no model download (Qt-free).

OpenCV's GrabCut (iterated graph cuts over colour GMMs) runs on a copy downscaled to about
:data:`WORK_PIXELS`; the edge is then refined at full resolution in a thin band around the
upscaled boundary, by classifying each band pixel under GrabCut's own foreground and
background colour models, weighed with the upscaled selection. Include / exclude strokes
(``(H, W) bool``) mark pixels that must or must not be selected and are honoured exactly.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import MaskError

#: Pixels GrabCut works on (the photo is downscaled to about this many).
WORK_PIXELS = 400_000
#: GrabCut iterations.
ITERATIONS = 5


def _gmm_loglik(model: np.ndarray, px: np.ndarray) -> np.ndarray:
    """Log-likelihood of ``(n, 3) float`` colours under one of GrabCut's 5-component GMMs
    (``model``: OpenCV's ``(1, 65)`` layout: 5 weights, 5×3 means, 5×3×3 covariances)."""
    m = model.reshape(-1)
    weights, means, covs = m[:5], m[5:20].reshape(5, 3), m[20:65].reshape(5, 3, 3)
    out = np.full(len(px), -np.inf)
    for k in range(5):
        if weights[k] <= 0:
            continue
        cov = covs[k] + np.eye(3) * 1e-3
        inv = np.linalg.inv(cov)
        d = px - means[k]
        q = np.einsum("ni,ij,nj->n", d, inv, d)
        ll = np.log(weights[k]) - 0.5 * (q + np.log(np.linalg.det(cov)) + 3 * np.log(2 * np.pi))
        out = np.logaddexp(out, ll)
    return out


def select_subject(
    rgb: np.ndarray,
    box: tuple[int, int, int, int],
    *,
    include: np.ndarray | None = None,
    exclude: np.ndarray | None = None,
    work_pixels: int = WORK_PIXELS,
) -> np.ndarray:
    """The object inside ``box`` as an ``(H, W) bool`` selection (pixel work: run in a thread).

    Args:
        rgb: ``(H, W, 3) uint8`` photo.
        box: ``(x0, y0, x1, y1)`` photo pixels, end exclusive; the subject lies inside it.
        include, exclude: ``(H, W) bool`` strokes that must / must not be selected, or None.
        work_pixels: how many pixels GrabCut works on (the rest is the full-resolution edge).

    Raises:
        MaskError: the box is smaller than 4×4 px after clipping to the photo, or covers all of it
            (GrabCut needs background outside the box).
    """
    H, W = rgb.shape[:2]
    x0, y0, x1, y1 = (
        max(0, int(box[0])),
        max(0, int(box[1])),
        min(W, int(box[2])),
        min(H, int(box[3])),
    )
    if x1 - x0 < 4 or y1 - y0 < 4:
        raise MaskError("Drag a larger rectangle around the subject (at least 4×4 pixels).")
    if x0 == 0 and y0 == 0 and x1 == W and y1 == H and include is None and exclude is None:
        raise MaskError(
            "Leave some background outside the rectangle: it tells the subject from its surroundings."
        )
    # work on the box plus a margin of background, downscaled
    mx, my = max(8, (x1 - x0) // 2), max(8, (y1 - y0) // 2)
    cx0, cy0, cx1, cy1 = max(0, x0 - mx), max(0, y0 - my), min(W, x1 + mx), min(H, y1 + my)
    crop = rgb[cy0:cy1, cx0:cx1]
    ch, cw = crop.shape[:2]
    s = min(1.0, (work_pixels / (ch * cw)) ** 0.5)
    sw, sh = max(8, round(cw * s)), max(8, round(ch * s))
    small = (
        cv2.resize(crop, (sw, sh), interpolation=cv2.INTER_AREA)
        if s < 1
        else np.ascontiguousarray(crop)
    )
    fx, fy = sw / cw, sh / ch
    gc = np.full((sh, sw), cv2.GC_BGD, np.uint8)
    rx0, ry0 = int((x0 - cx0) * fx), int((y0 - cy0) * fy)
    rx1, ry1 = (
        max(rx0 + 2, int(np.ceil((x1 - cx0) * fx))),
        max(ry0 + 2, int(np.ceil((y1 - cy0) * fy))),
    )
    gc[ry0:ry1, rx0:rx1] = cv2.GC_PR_FGD
    hard = []
    for strokes, label in ((include, cv2.GC_FGD), (exclude, cv2.GC_BGD)):
        if strokes is not None:
            sub = (
                cv2.resize(
                    strokes[cy0:cy1, cx0:cx1].view(np.uint8),
                    (sw, sh),
                    interpolation=cv2.INTER_NEAREST,
                )
                > 0
            )
            gc[sub] = label
            hard.append((strokes, label))
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
    cv2.grabCut(bgr, gc, None, bgd, fgd, ITERATIONS, cv2.GC_INIT_WITH_MASK)
    fg_small = ((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)).astype(np.float32)
    # full resolution: a smooth upscaled prior, decided by colour inside a thin band around the edge
    prior = cv2.resize(fg_small, (cw, ch), interpolation=cv2.INTER_LINEAR)
    sel = prior >= 0.5
    if s < 1:
        r = max(1, int(np.ceil(1.5 / s)))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        u8 = sel.view(np.uint8)
        band = (cv2.dilate(u8, kernel) > 0) & ~(cv2.erode(u8, kernel) > 0)
        ys, xs = np.nonzero(band)
        if len(ys):
            px = cv2.cvtColor(crop[ys, xs][None], cv2.COLOR_RGB2BGR)[0].astype(np.float64)
            diff = _gmm_loglik(fgd, px) - _gmm_loglik(bgd, px)
            p = np.clip(prior[ys, xs], 1e-3, 1 - 1e-3)
            sel[ys, xs] = diff + 1.5 * np.log(p / (1 - p)) > 0
    out = np.zeros((H, W), bool)
    out[cy0:cy1, cx0:cx1] = sel
    out[:, :x0] = out[:, x1:] = False  # the subject lies inside the box
    out[:y0] = out[y1:] = False
    for strokes, label in hard:
        out[strokes] = label == cv2.GC_FGD
    return out
