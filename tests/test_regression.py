"""Regression guard: a small fixed case must keep its evaluation numbers inside a band.

Measured when the defaults were set (tubingen × starry night, 128 px, seed 0, default settings):
content error 0.461, SSIM 0.442, Gram distance 0.082 against the photo's own 0.514 (before the
normal preset moved work to the final scale: 0.545, 0.396, 0.081; with the presets of December 2026,
which build the forms at small scales: 0.637, 0.448, 0.089). The bands leave
room for numeric noise but fail if the style stops transferring, or the photo is washed out.
"""

from pathlib import Path

import pytest

import brushwork
from brushwork.evaluate import evaluate

pytestmark = pytest.mark.slow

DATA = Path(__file__).parent / "data"


def test_default_settings_stay_in_band() -> None:
    content, style = DATA / "tubingen.jpg", DATA / "starry_night.jpg"
    result = brushwork.stylize(content, style, size=128, pyramid_start=64, seed=0)
    scores = evaluate(content, [style], result.image)
    photo_pixels = brushwork.imageio.resize(brushwork.read_image(content).rgb, result.size)
    photo = evaluate(content, [style], photo_pixels)
    assert scores.style_gram < 0.35 * photo.style_gram, "the style no longer transfers as well"
    assert 0.2 < scores.content_error < 0.7, "the content is kept too much or too little"
    assert scores.ssim > 0.3, "the photo's structure is washed out"
