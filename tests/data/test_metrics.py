"""PSNR and SSIM."""

import numpy as np
import pytest
import torch

from ns_plugins.data.metrics import psnr, ssim


def test_psnr():
    a = torch.zeros(8, 8, 3)
    assert psnr(a, a + 0.1).item() == pytest.approx(20.0, abs=1e-4)
    assert psnr(a, a).item() > 100
    assert psnr(torch.zeros(2, 8, 8, 3), torch.full((2, 8, 8, 3), 0.1)).shape == (2,)


def test_ssim_identity_and_order():
    g = torch.Generator().manual_seed(0)
    img = torch.rand(32, 32, 3, generator=g)
    assert ssim(img, img).item() == pytest.approx(1.0, abs=1e-5)
    small = (img + 0.05 * torch.randn(32, 32, 3, generator=g)).clamp(0, 1)
    large = (img + 0.3 * torch.randn(32, 32, 3, generator=g)).clamp(0, 1)
    assert 1.0 > ssim(small, img).item() > ssim(large, img).item()
    assert ssim(torch.stack([img, small]), torch.stack([img, img])).shape == (2,)


def test_ssim_matches_scikit_image():
    metrics = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(40, 36, 3))
    y = np.clip(x + rng.normal(scale=0.1, size=x.shape), 0, 1)
    expected = metrics.structural_similarity(
        x, y, channel_axis=-1, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    ours = ssim(torch.from_numpy(x).float(), torch.from_numpy(y).float()).item()
    assert ours == pytest.approx(expected, abs=1e-5)
