"""The derained photo: Y - R, and dark streaks along the rain angle filled from the render."""

from __future__ import annotations

import math

import pytest
import torch

from ns_plugins.rainyscape.derained_photo import dark_streaks, derained_photo, line_closing


def grey(value: float = 0.6, size: int = 32) -> torch.Tensor:
    return torch.full((size, size, 3), value)


def test_line_closing_fills_a_line_across_it_and_keeps_one_along_it() -> None:
    image = grey()
    image[:, 16] = 0.1  # a vertical dark line, one pixel wide
    across = line_closing(image, 0.0, 5)  # horizontal segment
    along = line_closing(image, math.pi / 2, 5)  # vertical segment
    assert torch.allclose(across, grey(), atol=1e-5)
    assert torch.allclose(along, image, atol=1e-5)
    with pytest.raises(ValueError, match="odd"):
        line_closing(image, 0.0, 4)


def test_dark_streaks_scores_thin_dark_lines_along_the_rain_only() -> None:
    vertical = math.pi / 2
    streak = grey()
    streak[4:28, 16] = 0.2  # along the rain
    assert float(dark_streaks(streak, vertical)[10:22, 16].min()) == pytest.approx(0.4, abs=1e-4)
    across = grey()
    across[16, 4:28] = 0.2  # a dark line at right angles to the rain
    dot = grey()
    dot[15:17, 15:17] = 0.2  # a dark blob shorter than the segment along the rain
    edge = grey()
    edge[:, 16:] = 0.2  # a dark region's edge along the rain
    for image in (across, dot, edge, grey()):
        assert float(dark_streaks(image, vertical).max()) < 0.02


def test_derained_photo_takes_out_bright_rain_and_fills_dark_streaks_from_the_render() -> None:
    render = grey(0.5)
    photo = render.clone()
    rain = torch.zeros_like(photo)
    photo[4:28, 8] += 0.3  # bright streak, found by the rain layer
    rain[4:28, 8] = 0.3
    photo[4:28, 20] -= 0.3  # dark streak, which R >= 0 cannot hold
    # without the render: Y - R only
    assert torch.allclose(derained_photo(photo, rain), (photo - rain).clamp(0, 1))
    out = derained_photo(photo, rain, render, math.pi / 2)
    assert float((out - render)[6:26].abs().max()) < 1e-4
    # the scene's own dark line along the rain stays: the render has it as well
    render_with_line, photo_with_line = render.clone(), photo.clone()
    render_with_line[4:28, 20] -= 0.3
    kept = derained_photo(photo_with_line, rain, render_with_line, math.pi / 2)
    assert torch.allclose(kept[6:26, 20], photo[6:26, 20], atol=1e-4)


def test_the_gap_between_two_bright_streaks_is_not_a_dark_streak() -> None:
    photo = grey(0.5)
    photo[4:28, 8] += 0.3
    photo[4:28, 10] += 0.3
    rain = torch.zeros_like(photo)
    rain[4:28, 8] = rain[4:28, 10] = 0.3  # the rain layer found both streaks
    render = grey(0.5)
    render[4:28, 9] += 0.1  # a render that kept some of their rain between them
    assert float(dark_streaks(photo, math.pi / 2)[6:26, 9].min()) > 0.2  # on the photo the gap is a dark line
    out = derained_photo(photo, rain, render, math.pi / 2)
    assert float((out - grey(0.5))[6:26].abs().max()) < 1e-4  # measured on Y - R it is not: nothing lifted
