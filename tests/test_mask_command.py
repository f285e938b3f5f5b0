"""`brushwork mask`: the mask a run finds, written so that it can be checked, edited and given back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import brushwork
from brushwork.imageio import read_image
from test_cli import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def portrait(data_dir: Path) -> Path:
    return data_dir / "subject" / "face.jpg"  # 192x256


def test_the_subject_mask_is_written_at_the_runs_size(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, portrait: Path, data_dir: Path
) -> None:
    out = tmp_path / "subject.png"
    outcome = run_cli(capsys, "mask", portrait, "--subject", "-o", out, "--size", "128")
    assert outcome.status == 0 and outcome.out == ""
    assert f"wrote {out} (96x128, subject" in outcome.err
    mask = read_image(out).rgb[..., 0]
    truth = read_image(data_dir / "subject" / "face_mask.png").rgb[..., 0]
    truth = truth[::2, ::2] > 0.5
    found = mask > 0.5
    assert mask.shape == (128, 96) and (found & truth).sum() / (found | truth).sum() > 0.9


def test_the_background_is_the_subjects_complement_at_the_photos_own_size(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, portrait: Path
) -> None:
    subject, background = tmp_path / "s.png", tmp_path / "b.png"
    assert run_cli(capsys, "mask", portrait, "--subject", "-o", subject, "--size", "0").status == 0
    assert (
        run_cli(capsys, "mask", portrait, "--background", "-o", background, "-q", "--size", "0").status == 0
    )
    s, b = read_image(subject).rgb[..., 0], read_image(background).rgb[..., 0]
    assert s.shape == (256, 192)
    np.testing.assert_allclose(s + b, 1.0, atol=1.5 / 255)


def test_the_written_mask_given_back_paints_what_the_run_would(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, portrait: Path, data_dir: Path
) -> None:
    out = tmp_path / "background.png"
    assert run_cli(capsys, "mask", portrait, "--background", "-o", out, "--size", "128").status == 0
    style = data_dir / "starry_night.jpg"
    found = brushwork.stylize(portrait, style, method="fast", size=128, mask="background")
    given = brushwork.stylize(portrait, style, method="fast", size=128, mask=str(out))
    assert np.abs(found.image - given.image).max() < 0.02  # the file holds the mask in 8 bits


def test_no_face_is_one_line_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data_dir: Path
) -> None:
    out = tmp_path / "faces.png"
    outcome = run_cli(capsys, "mask", data_dir / "subject" / "lion.jpg", "--faces", "-o", out)
    assert_one_line_error(outcome, 2, "no face found")
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "mention"),
    [
        (["--subject", "--size", "-3"], "size must be between"),
        ([], "one of the arguments --subject --background --faces --text is required"),
        (["--subject", "--faces"], "not allowed with argument"),
    ],
)
def test_bad_arguments_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, portrait: Path, argv: list[str], mention: str
) -> None:
    outcome = run_cli(capsys, "mask", portrait, *argv, "-o", tmp_path / "m.png")
    assert_one_line_error(outcome, 2, mention)
    assert not (tmp_path / "m.png").exists()


def test_the_photo_is_never_overwritten(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, portrait: Path
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(portrait.read_bytes())
    assert_one_line_error(run_cli(capsys, "mask", photo, "--subject", "-o", photo), 2, "is also an input")
