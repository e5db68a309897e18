"""The rain bound: top-hats of the rainy photo find thin streaks and nothing on smooth regions."""

from __future__ import annotations

import pytest
import torch

from ns_plugins.rainyscape.rain_bound import bound_size, clamp_rain, top_hats


def smooth_sky(height: int = 32, width: int = 40) -> torch.Tensor:
    """A vertical gradient [H, W, 3], like a clear sky."""
    ramp = torch.linspace(0.6, 0.9, height)[:, None, None]
    return ramp.expand(height, width, 3).clone()


def test_top_hats_hold_thin_streaks_and_nothing_on_a_smooth_sky() -> None:
    sky = smooth_sky()
    rainy = sky.clone()
    rainy[4:28, 10] += 0.1  # a bright 1-px streak
    rainy[4:28, 30] -= 0.2  # a dark one
    white, black = top_hats(rainy, 5)
    assert torch.allclose(white[4:28, 10], torch.full_like(white[4:28, 10], 0.1), atol=0.02)
    assert torch.allclose(black[4:28, 30], torch.full_like(black[4:28, 30], 0.2), atol=0.02)
    clear = torch.ones(32, 40, dtype=torch.bool)
    clear[:, 8:13] = False
    clear[:, 28:33] = False
    assert white[clear].abs().max() < 0.02 and black[clear].abs().max() < 0.02
    assert (white >= -1e-6).all() and (black >= -1e-6).all()


def test_clamp_rain_removes_a_patch_the_photo_does_not_show() -> None:
    rainy = smooth_sky()
    rainy[4:28, 10] += 0.1
    rain = torch.zeros_like(rainy)
    rain[10:20, 20:30] = 0.3  # a bright blob: what explains away a dark floater in B
    rain[4:28, 10] = 0.1  # the streak
    rain[0:3, 0:3] = -0.2  # darkening where the photo shows none
    clamped = clamp_rain(rain, rainy, 5)
    assert clamped[10:20, 20:30].abs().max() < 0.02
    assert clamped[0:3, 0:3].abs().max() < 0.02
    assert torch.allclose(clamped[4:28, 10], rain[4:28, 10], atol=0.02)


def test_bound_size_is_odd_and_follows_the_resolution() -> None:
    assert bound_size(0.1, 64) == 7  # 6.4 -> 6, made odd
    assert bound_size(0.1, 128) == 13
    assert bound_size(0.1, 20) == 3
    assert bound_size(0.1, 1000) == 101
    with pytest.raises(ValueError):
        top_hats(smooth_sky(), 4)


@pytest.mark.parametrize("size", [3, 5, 9, 31])
def test_top_hats_match_a_square_window(size: int) -> None:
    """The running maximum (blocks of ``size``, the image's sides not multiples of it, a window wider than the
    image too) is the square window's, checked against a direct 2D max pool."""
    import torch.nn.functional as F

    image = torch.rand(20, 27, 3, generator=torch.Generator().manual_seed(0))
    pad = (size // 2,) * 4
    x = F.pad(image.permute(2, 0, 1)[None], pad, mode="replicate")
    direct_max = F.max_pool2d(x, size, stride=1)[0].permute(1, 2, 0)
    y = F.pad(-direct_max.permute(2, 0, 1)[None], pad, mode="replicate")
    direct_close = -F.max_pool2d(y, size, stride=1)[0].permute(1, 2, 0)
    _, black = top_hats(image, size)
    assert torch.allclose(black, direct_close - image, atol=1e-6)
