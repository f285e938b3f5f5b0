"""Before- and after-adjustments: exact geometry, properties moved the right way, one-line errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageEnhance

from brushwork.errors import SettingsError
from brushwork.finishing import (
    After,
    Before,
    Padding,
    apply_after,
    apply_before,
    parse_box,
    parse_flip,
    parse_pad,
)
from brushwork.finishing import after as adjust
from brushwork.finishing.before import Adjusted, parse_colour
from brushwork.imageio import read_image
from brushwork.regions.subject import Box


def grid(height: int = 3, width: int = 4) -> np.ndarray:
    """An (H, W, 3) array whose every pixel is different: value = (row * W + col) / (H * W)."""
    plane = np.arange(height * width, dtype=np.float32).reshape(height, width) / (height * width)
    return np.stack([plane, plane / 2, 1 - plane], axis=-1)


@pytest.fixture(scope="module")
def photo(data_dir: Path) -> np.ndarray:
    return read_image(data_dir / "tubingen.jpg").rgb


def luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def laplacian_energy(rgb: np.ndarray) -> float:
    return float(np.mean(cv2.Laplacian(luminance(rgb).astype(np.float32), cv2.CV_32F) ** 2))


def mean_saturation(rgb: np.ndarray) -> float:
    return float(cv2.cvtColor(rgb.astype(np.float32), cv2.COLOR_RGB2HSV)[..., 1].mean())


# ------------------------------------------------------------------------------------------- geometry


def test_crop_takes_exactly_the_box_from_colour_alpha_and_mask() -> None:
    rgb = grid(5, 6)
    alpha, mask = rgb[..., 0].copy(), rgb[..., 1].copy()
    out = apply_before(Before(crop=Box(1, 2, 3, 2)), rgb, alpha, mask)
    np.testing.assert_array_equal(out.rgb, rgb[2:4, 1:4])
    np.testing.assert_array_equal(out.alpha, alpha[2:4, 1:4])
    np.testing.assert_array_equal(out.mask, mask[2:4, 1:4])


def test_crop_outside_the_picture_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="reaches outside the 4x3 picture"):
        apply_before(Before(crop=Box(2, 0, 3, 3)), grid())


@pytest.mark.parametrize(("degrees", "turns"), [(90, 1), (180, 2), (270, 3), (-90, 3), (-270, 1)])
def test_right_angle_rotations_are_exact_and_counter_clockwise(degrees: float, turns: int) -> None:
    rgb = grid()
    alpha = rgb[..., 0].copy()
    out = apply_before(Before(rotate=degrees), rgb, alpha)
    np.testing.assert_array_equal(out.rgb, np.rot90(rgb, turns))
    np.testing.assert_array_equal(out.alpha, np.rot90(alpha, turns))
    if degrees == 90:  # counter-clockwise: the top-right pixel ends up top-left
        np.testing.assert_array_equal(out.rgb[0, 0], rgb[0, -1])


def test_other_angles_enlarge_the_canvas_and_make_the_corners_transparent() -> None:
    rgb = np.full((20, 40, 3), 0.5, np.float32)
    out = apply_before(Before(rotate=30), rgb, np.ones((20, 40), np.float32), np.ones((20, 40), np.float32))
    cos, sin = np.cos(np.radians(30)), np.sin(np.radians(30))
    assert out.rgb.shape == (int(np.ceil(40 * sin + 20 * cos)), int(np.ceil(40 * cos + 20 * sin)), 3)
    assert out.alpha is not None and out.mask is not None
    assert out.alpha[0, 0] == 0 and out.mask[0, 0] == 0  # an uncovered corner
    np.testing.assert_allclose(out.rgb[0, 0], 1.0)  # the white background
    centre = out.rgb.shape[0] // 2, out.rgb.shape[1] // 2
    assert out.alpha[centre] == pytest.approx(1.0) and out.rgb[centre] == pytest.approx(0.5)
    # The picture's area is kept (bilinear resampling blurs only the edge).
    assert out.alpha.sum() == pytest.approx(20 * 40, rel=0.02)


def test_rotation_without_alpha_keeps_no_alpha() -> None:
    out = apply_before(Before(rotate=10), grid(8, 8))
    assert out.alpha is None and out.mask is None


@pytest.mark.parametrize(
    ("axis", "expected"),
    [
        ("horizontal", lambda a: a[:, ::-1]),
        ("vertical", lambda a: a[::-1]),
        ("both", lambda a: a[::-1, ::-1]),
    ],
)
def test_flips_are_exact(axis: str, expected: object) -> None:
    rgb = grid()
    out = apply_before(Before(flip=parse_flip(axis)), rgb, rgb[..., 2].copy())
    np.testing.assert_array_equal(out.rgb, expected(rgb))  # type: ignore[operator]
    np.testing.assert_array_equal(out.alpha, expected(rgb[..., 2]))  # type: ignore[operator]


def test_reflect_padding_mirrors_colour_alpha_and_mask() -> None:
    rgb = grid()
    alpha = rgb[..., 0].copy()
    out = apply_before(Before(pad=Padding(2)), rgb, alpha, alpha)
    assert out.rgb.shape == (7, 8, 3)
    np.testing.assert_array_equal(out.rgb[2:-2, 2:-2], rgb)
    np.testing.assert_array_equal(out.rgb[0, 2:-2], rgb[2])  # reflected without repeating the edge row
    np.testing.assert_array_equal(out.rgb[2:-2, 1], rgb[:, 1])
    np.testing.assert_array_equal(out.alpha, np.pad(alpha, 2, mode="reflect"))


def test_colour_padding_is_opaque_and_unpainted() -> None:
    rgb = grid()
    out = apply_before(Before(pad=parse_pad("1,#ff0000")), rgb, np.zeros((3, 4), np.float32), np.ones((3, 4)))
    assert out.rgb.shape == (5, 6, 3)
    np.testing.assert_array_equal(out.rgb[0, 0], [1, 0, 0])
    np.testing.assert_array_equal(out.rgb[-1, 3], [1, 0, 0])
    np.testing.assert_array_equal(out.rgb[1:-1, 1:-1], rgb)
    assert out.alpha is not None and out.mask is not None
    assert out.alpha[0].min() == 1 and out.alpha[1:-1, 1:-1].max() == 0
    assert out.mask[0].max() == 0 and out.mask[1:-1, 1:-1].min() == 1


def test_before_steps_run_in_the_documented_order() -> None:
    rgb = grid(4, 6)
    out = apply_before(
        Before(crop=Box(0, 0, 2, 4), rotate=90, flip="horizontal", pad=Padding(1, (0, 0, 0))), rgb
    )
    expected = np.pad(np.rot90(rgb[:, :2])[:, ::-1], ((1, 1), (1, 1), (0, 0)))
    np.testing.assert_array_equal(out.rgb, expected)


def test_before_describe_lists_only_what_changes() -> None:
    assert Before().describe() == {} and Before().is_identity
    spec = Before(crop=parse_box("10, 20,300,200"), rotate=15, flip="vertical", pad=parse_pad("8,white"))
    assert spec.describe() == {
        "crop": [10, 20, 300, 200],
        "rotate": 15.0,
        "background": "#ffffff",
        "flip": "vertical",
        "pad": {"px": 8, "fill": "#ffffff"},
    }
    assert Before(rotate=360).is_identity and Before(pad=Padding(0)).is_identity


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: parse_box("10,20,300"), "crop must be four whole numbers"),
        (lambda: parse_box("a,b,c,d"), "crop must be four whole numbers"),
        (lambda: parse_box("0,0,0,5"), "w, h >= 1"),
        (lambda: parse_box("-1,0,5,5"), "x, y >= 0"),
        (lambda: Before(rotate=float("nan")), "rotate must be a number"),
        (lambda: Before(rotate=720), "between -360 and 360"),
        (lambda: parse_flip("sideways"), "flip must be horizontal, vertical or both"),
        (lambda: parse_pad("ten"), "pad must be PX"),
        (lambda: parse_pad("-3"), "pad must be a whole number of pixels"),
        (lambda: parse_pad("4,notacolour"), "pad colour must be a colour name"),
        (lambda: parse_colour("#12"), "colour must be a colour name"),
        (lambda: Before(background=(2.0, 0.0, 0.0)), "background colour must be three numbers"),
    ],
)
def test_bad_before_values_are_one_line_settings_errors(make: object, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        make()  # type: ignore[operator]
    assert "\n" not in str(raised.value)


# ----------------------------------------------------------------------------------------- tone, colour


def test_brightness_moves_mean_luminance(photo: np.ndarray) -> None:
    before = luminance(photo).mean()
    assert luminance(apply_after(After(brightness=1.3), photo)).mean() > before * 1.2
    assert luminance(apply_after(After(brightness=0.6), photo)).mean() == pytest.approx(
        before * 0.6, rel=1e-4
    )


def test_contrast_moves_rms_contrast_and_keeps_the_mean(photo: np.ndarray) -> None:
    before = luminance(photo)
    higher, lower = (luminance(apply_after(After(contrast=c), photo)) for c in (1.4, 0.5))
    assert higher.std() > before.std() * 1.2
    assert lower.std() == pytest.approx(before.std() * 0.5, rel=1e-3)
    assert lower.mean() == pytest.approx(before.mean(), abs=1e-3)


def test_saturation_moves_mean_saturation_and_zero_is_grey(photo: np.ndarray) -> None:
    before = mean_saturation(photo)
    assert mean_saturation(apply_after(After(saturation=1.5), photo)) > before * 1.2
    assert mean_saturation(apply_after(After(saturation=0.5), photo)) < before * 0.7
    grey = apply_after(After(saturation=0), photo)
    np.testing.assert_allclose(grey[..., 0], grey[..., 2], atol=1e-6)


@pytest.mark.parametrize(("degrees", "expected"), [(30, 30.0), (120, 120.0), (-60, 300.0), (180, 180.0)])
def test_hue_turns_a_red_patch_by_the_angle(degrees: float, expected: float) -> None:
    patch = np.zeros((4, 4, 3), np.float32)
    patch[...] = (0.8, 0.2, 0.2)  # hue 0
    turned = apply_after(After(hue=degrees), patch)
    angle = cv2.cvtColor(turned, cv2.COLOR_RGB2HSV)[..., 0]
    np.testing.assert_allclose(angle, expected, atol=0.5)
    assert float(turned.max()) == pytest.approx(0.8, abs=1e-5)  # value and saturation are kept


def test_sharpen_raises_and_denoise_lowers_laplacian_energy(photo: np.ndarray) -> None:
    before = laplacian_energy(photo)
    assert laplacian_energy(apply_after(After(sharpen=1.0), photo)) > before * 1.5
    noisy = np.clip(photo + np.random.default_rng(0).normal(0, 0.05, photo.shape), 0, 1).astype(np.float32)
    cleaned = apply_after(After(denoise=0.5), noisy)
    assert laplacian_energy(cleaned) < laplacian_energy(noisy) * 0.5
    # Closer to the clean photo than the noisy one was.
    assert np.abs(cleaned - photo).mean() < np.abs(noisy - photo).mean()


@pytest.mark.parametrize(
    ("name", "enhancer", "factor"),
    [
        ("brightness", ImageEnhance.Brightness, 1.3),
        ("contrast", ImageEnhance.Contrast, 0.6),
        ("saturation", ImageEnhance.Color, 1.7),
    ],
)
def test_tone_adjustments_agree_with_pillow_imageenhance(
    photo: np.ndarray, name: str, enhancer: type[ImageEnhance._Enhance], factor: float
) -> None:
    pixels = np.rint(photo * 255).astype(np.uint8)
    expected = np.asarray(enhancer(Image.fromarray(pixels)).enhance(factor)).astype(np.float32) / 255
    ours = apply_after(After(**{name: factor}), pixels.astype(np.float32) / 255)
    assert np.abs(ours - expected).max() <= 2.5 / 255  # Pillow rounds its blend and its mean to 8 bits


def test_after_steps_run_in_the_documented_order(photo: np.ndarray) -> None:
    spec = After(brightness=1.1, contrast=1.2, saturation=0.8, hue=20, sharpen=0.5, denoise=0.3)
    expected = photo
    for step in (adjust.denoise, adjust.brightness, adjust.contrast, adjust.saturation, adjust.hue):
        expected = step(expected, getattr(spec, step.__name__))
    expected = adjust.sharpen(expected, spec.sharpen)
    np.testing.assert_allclose(apply_after(spec, photo), expected, atol=1e-6)
    assert list(spec.describe()) == ["denoise", "brightness", "contrast", "saturation", "hue", "sharpen"]


def test_identity_after_changes_nothing(photo: np.ndarray) -> None:
    assert After().is_identity and After().describe() == {}
    np.testing.assert_array_equal(apply_after(After(), photo), photo)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"brightness": -0.1}, "brightness must be between 0 and 4 \\(1 changes nothing\\), not -0.1"),
        ({"contrast": 9}, "contrast must be between 0 and 4"),
        ({"saturation": float("inf")}, "saturation must be a number"),
        ({"hue": 200}, "hue must be between -180 and 180"),
        ({"sharpen": -1}, "sharpen must be between 0 and 5"),
        ({"denoise": 2}, "denoise must be between 0 and 1"),
        ({"denoise": "a lot"}, "denoise must be a number"),
    ],
)
def test_bad_after_values_are_one_line_settings_errors(values: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        After(**values)  # type: ignore[arg-type]
    assert "\n" not in str(raised.value)


def test_adjusted_is_a_plain_triple() -> None:
    rgb = grid()
    out = apply_before(Before(), rgb)
    assert isinstance(out, Adjusted) and out.alpha is None
    np.testing.assert_array_equal(out.rgb, rgb)
