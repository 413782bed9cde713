from __future__ import annotations

import numpy as np
import pytest

from inpaint_studio.core.pipeline.composite import apply_layer
from inpaint_studio.core.pipeline.jobs import JobRunner
from inpaint_studio.core.pipeline.protocol import Stage
from inpaint_studio.core.pipeline.request import EditRequest
from inpaint_studio.core.pixels.imaging import load_image
from inpaint_studio.providers import LocalProvider
from inpaint_studio.providers.local import choose_method, fill

from .conftest import ellipse_mask


def test_method_by_hole_size():
    thin = np.zeros((200, 200), bool)
    thin[100:104, 20:180] = True  # a scratch
    assert choose_method(thin) == "telea"
    assert choose_method(ellipse_mask(200, 200, 100, 100, 40, 50)) == "patchmatch"


def test_patchmatch_fills_with_texture_and_honours_seeds(data_dir):
    rgb = load_image(data_dir / "coffee.png").rgb
    mask = ellipse_mask(400, 600, 330, 520, 40, 60)  # a patch of wooden table
    a = fill(rgb, mask, method="patchmatch", seed=1)
    b = fill(rgb, mask, method="patchmatch", seed=2)
    assert a.shape == rgb.shape
    assert not np.array_equal(a[mask], b[mask])
    # texture, not a smear: high-frequency detail inside the hole (Laplacian energy) stays
    # close to the table's, where Telea's diffusion smooths it away
    import cv2

    inner = cv2.erode(mask.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    ring = ellipse_mask(400, 600, 330, 520, 70, 100) & ~mask

    def detail(img, where):
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return np.abs(cv2.Laplacian(grey, cv2.CV_32F))[where].mean()

    telea = fill(rgb, mask, method="telea")
    assert detail(a, inner) > 0.6 * detail(rgb, ring)
    assert detail(telea, inner) < 0.5 * detail(a, inner)


@pytest.mark.asyncio
async def test_local_job_composites_and_ignores_prompt(data_dir):
    photo = load_image(data_dir / "chelsea.png")
    mask = ellipse_mask(300, 451, 100, 300, 30, 40)
    req = EditRequest(prompt="a hat", photo=photo, mask=mask, seed=5, num_images=2)
    runner = JobRunner()
    job = runner.submit(req, LocalProvider())
    await runner.wait(job)
    assert job.stage == Stage.DONE, job.error
    assert job.notes == ["The offline engine removes content and ignores the prompt."]
    assert [v.seed for v in job.variants] == [5, 6]
    out = apply_layer(photo.rgb, job.variants[0].layer)
    assert np.array_equal(out[~mask], photo.rgb[~mask])
    assert not np.array_equal(out[mask], photo.rgb[mask])
