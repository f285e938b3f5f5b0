"""Tests for brushwork.evaluate: content fidelity and style match numbers, and `brushwork evaluate`."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import brushwork
from brushwork import imageio
from brushwork.cli import main
from brushwork.errors import SettingsError, UserInputError
from brushwork.evaluate import STYLE_LAYERS, Evaluation, evaluate, evaluate_many, ssim

OUTPUT_SIZE = (64, 48)  # tubingen.jpg (128x96) at 64 px


@pytest.fixture(scope="module")
def small_content(content_image: Path) -> np.ndarray:
    """The content photo at the stylized output's size."""
    return imageio.resize(imageio.read_image(content_image).rgb, OUTPUT_SIZE)


@pytest.fixture(scope="module")
def stylized(content_image: Path, style_image: Path) -> np.ndarray:
    result = brushwork.stylize(
        content_image, style_image, size=64, steps=10, quality="draft", pyramid=False, seed=0
    )
    assert result.size == OUTPUT_SIZE
    return result.image


# ----------------------------------------------------------------------------------------------- SSIM


def test_ssim_of_two_constant_images_is_the_luminance_term() -> None:
    # With no variance the structure term is C2 / C2 = 1, leaving (2ab + C1) / (a² + b² + C1).
    a, b, c1 = 0.25, 0.75, 0.01**2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    value = ssim(np.full((20, 24, 3), a, np.float32), np.full((20, 24, 3), b, np.float32))
    assert value == pytest.approx(expected, abs=1e-9)
    assert ssim(np.full((20, 24, 3), a, np.float32), np.full((20, 24, 3), a, np.float32)) == 1.0


def test_ssim_of_an_image_and_its_negation_is_negative() -> None:
    image = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    assert ssim(image, image) == pytest.approx(1.0, abs=1e-12)
    assert ssim(image, 1.0 - image) < 0.0


def test_ssim_compares_bt601_luminance() -> None:
    rng = np.random.default_rng(1)
    first, second = rng.random((24, 24, 3)), rng.random((24, 24, 3))
    weights = np.array([0.299, 0.587, 0.114])
    assert ssim(first, second) == pytest.approx(ssim(first @ weights, second @ weights), abs=1e-9)
    # Swapping colours that have the same luminance changes nothing.
    grey = np.full((24, 24, 3), 0.5)
    tinted = grey + np.array([0.1, -0.1 * 0.299 / 0.587, 0.0])
    assert ssim(grey, tinted) == pytest.approx(1.0, abs=1e-9)


def test_ssim_falls_as_noise_grows() -> None:
    rng = np.random.default_rng(2)
    image = rng.random((40, 40))
    values = [ssim(image, np.clip(image + rng.normal(0, s, image.shape), 0, 1)) for s in (0.02, 0.1, 0.3)]
    assert 1.0 > values[0] > values[1] > values[2]


def test_ssim_handles_images_smaller_than_its_window() -> None:
    image = np.random.default_rng(3).random((5, 7, 3))
    assert ssim(image, image) == pytest.approx(1.0, abs=1e-12)
    assert ssim(image, image * 0.5) < 0.95


def test_ssim_rejects_mismatched_shapes() -> None:
    with pytest.raises(UserInputError, match="same shape"):
        ssim(np.zeros((8, 8, 3)), np.zeros((8, 9, 3)))


# ------------------------------------------------------------------------------------------- evaluate


def test_output_equal_to_content_scores_perfect_content_fidelity(
    content_image: Path, style_image: Path
) -> None:
    result = evaluate(content_image, style_image, content_image)
    assert result.content_error == 0.0
    assert result.ssim == pytest.approx(1.0, abs=1e-12)
    assert result.size == imageio.read_image(content_image).size
    assert result.style_gram > 0.1  # a photo is not a painting


def test_content_is_resized_to_the_output(
    content_image: Path, style_image: Path, small_content: np.ndarray
) -> None:
    result = evaluate(content_image, style_image, small_content)
    assert result.size == OUTPUT_SIZE
    assert result.content_error == 0.0
    assert result.ssim == pytest.approx(1.0, abs=1e-12)


def test_the_style_matches_itself(content_image: Path, style_image: Path, second_style_image: Path) -> None:
    result = evaluate(content_image, [style_image, second_style_image], style_image, blend=[3.0, 1.0])
    first, second = result.styles
    assert first.gram == pytest.approx(0.0, abs=1e-9)
    assert first.meancov == pytest.approx(0.0, abs=1e-9)
    assert set(first.gram_layers) == set(STYLE_LAYERS)
    assert second.gram > 0.1 and second.meancov > 0.1
    assert result.style_gram == pytest.approx((3 * first.gram + second.gram) / 4, rel=1e-9)
    assert result.style_meancov == pytest.approx((3 * first.meancov + second.meancov) / 4, rel=1e-9)
    assert second.gram == pytest.approx(np.mean(list(second.gram_layers.values())), rel=1e-9)
    assert result.content_error > 0.3  # a painting is not the photo


def test_a_stylized_output_is_further_from_the_photo_and_nearer_the_painting(
    content_image: Path, style_image: Path, small_content: np.ndarray, stylized: np.ndarray
) -> None:
    before, after = evaluate_many(content_image, style_image, [small_content, stylized])
    assert before.content_error == 0.0 and after.content_error > 0.05
    assert after.ssim < before.ssim
    assert after.style_gram < 0.8 * before.style_gram
    assert after.style_meancov < before.style_meancov


def test_evaluate_many_matches_one_at_a_time(
    content_image: Path, style_image: Path, small_content: np.ndarray, stylized: np.ndarray
) -> None:
    outputs = [stylized, content_image, small_content]  # two sizes, interleaved
    together = evaluate_many(content_image, style_image, outputs)
    alone = [evaluate(content_image, style_image, output) for output in outputs]
    assert [e.to_dict() for e in together] == [e.to_dict() for e in alone]


def test_to_dict_is_plain_json(content_image: Path, style_image: Path, small_content: np.ndarray) -> None:
    result = evaluate(content_image, style_image, small_content)
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data) == {
        "size", "content_error", "ssim", "style_gram", "style_meancov", "forms_gram", "forms_meancov",
        "forms_size", "styles",
    }  # fmt: skip
    assert data["size"] == list(OUTPUT_SIZE)
    assert data["forms_size"] == [64, 48]  # never reduced below 64 px (nor above the output)
    assert set(data["styles"][0]) == {"weight", "gram", "meancov", "forms_gram", "forms_meancov", "layers"}
    assert set(data["styles"][0]["layers"]) == set(STYLE_LAYERS)
    assert isinstance(result, Evaluation)


def test_bad_blend_and_missing_styles_are_user_errors(content_image: Path, style_image: Path) -> None:
    with pytest.raises(SettingsError, match="2 weights for 1 style"):
        evaluate(content_image, style_image, content_image, blend=[1.0, 2.0])
    with pytest.raises(SettingsError, match="not all zero"):
        evaluate(content_image, style_image, content_image, blend=[0.0])
    with pytest.raises(UserInputError, match="at least one style"):
        evaluate(content_image, [], content_image)
    with pytest.raises(UserInputError, match="shape"):
        evaluate(content_image, style_image, np.zeros((8, 8)))


# ------------------------------------------------------------------------------------------------ CLI


def test_cli_json_has_the_documented_keys(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    content_image: Path,
    style_image: Path,
    second_style_image: Path,
    stylized: np.ndarray,
) -> None:
    output = tmp_path / "out.png"
    imageio.write_image(output, stylized)
    argv = ["evaluate", "-c", content_image, "-s", style_image, "-s", second_style_image]
    status = main([str(a) for a in [*argv, "--blend", "1,3", output, content_image, "--json"]])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    document = json.loads(captured.out)
    assert set(document) == {"content", "styles", "blend", "outputs"}
    assert document["styles"] == [str(style_image), str(second_style_image)]
    assert document["blend"] == [1.0, 3.0]
    first, second = document["outputs"]
    assert first["output"] == str(output) and second["output"] == str(content_image)
    assert set(first) == {
        "output", "size", "content_error", "ssim", "style_gram", "style_meancov", "forms_gram",
        "forms_meancov", "forms_size", "styles",
    }  # fmt: skip
    assert first["size"] == list(OUTPUT_SIZE)
    assert second["content_error"] == 0.0 and second["ssim"] == 1.0
    assert first["content_error"] > 0.0
    assert [s["weight"] for s in first["styles"]] == [1.0, 3.0]


def test_cli_table_has_a_row_per_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content_image: Path, style_image: Path
) -> None:
    status = main(
        ["evaluate", "--content", str(content_image), "--style", str(style_image), str(content_image)]
    )
    out = capsys.readouterr().out
    assert status == 0
    header = next(line for line in out.splitlines() if line.startswith("output"))
    assert header.split() == [
        "output", "size", "content-error", "ssim", "gram", "meancov", "forms-gram", "forms-meancov"
    ]  # fmt: skip
    row = next(line for line in out.splitlines() if line.startswith(str(content_image)))
    assert row.split()[1:4] == ["128x96", "0", "1"]


def test_cli_bad_inputs_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content_image: Path, style_image: Path
) -> None:
    missing = tmp_path / "missing.png"
    cases = [
        [str(missing)],
        [str(content_image), "--blend", "1,2"],
        [str(content_image), "--blend", "1,x"],
    ]
    for extra in cases:
        error = one_line_error(capsys, ["evaluate", "-c", str(content_image), "-s", str(style_image), *extra])
        assert "missing.png" in error or "blend" in error
    assert "missing.png" in one_line_error(
        capsys, ["evaluate", "-c", str(missing), "-s", str(style_image), "x.png"]
    )


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run main(); expect exit status 2 (returned, or from argparse's SystemExit) and one stderr line."""
    try:
        status = main(argv)
    except SystemExit as stop:
        status = stop.code
    captured = capsys.readouterr()
    assert status == 2, (argv, captured.err)
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1 and captured.err.startswith("brushwork: error:")
    return captured.err


def test_large_forms_favour_the_paintings_layout_over_its_small_marks(style_image: Path) -> None:
    """The painting blurred keeps its large forms and loses its marks; cut into 16 px blocks and
    shuffled it keeps its marks and loses its forms. The large-form distance must tell them apart."""
    painting = imageio.read_image(style_image).rgb
    painting = imageio.resize(painting, (256, 160))
    blocks = painting.reshape(10, 16, 16, 16, 3).transpose(0, 2, 1, 3, 4).reshape(-1, 16, 16, 3)
    blocks = blocks[np.random.default_rng(0).permutation(len(blocks))]
    shuffled = blocks.reshape(10, 16, 16, 16, 3).transpose(0, 2, 1, 3, 4).reshape(160, 256, 3)
    blurred = cv2.GaussianBlur(painting, (0, 0), 3)
    marks, forms = evaluate_many(painting, painting, [shuffled, blurred])
    assert marks.forms_size == forms.forms_size == (64, 40)
    assert forms.forms_gram < 0.5 * marks.forms_gram
    itself = evaluate(painting, painting, painting)
    assert itself.forms_gram < 1e-3 and itself.style_gram < 1e-3
