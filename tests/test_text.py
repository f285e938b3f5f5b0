"""The text finder (PP-OCRv6 detection from the rapidocr wheel, run by brushwork), --protect-text,
--protect-text-strength and --mask text."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import brushwork
from brushwork.errors import SettingsError, UserInputError
from brushwork.imageio import read_image, resize
from ci import require
from test_cli import assert_one_line_error, run_cli

require("rapidocr", "the text extra: pip install -e '.[text]'")

from brushwork.regions import text  # noqa: E402 (after the check that the detector is installed)

DATA = Path(__file__).parent / "data"
TEXT = DATA / "text"
STARRY = DATA / "starry_night.jpg"


def test_every_line_of_a_label_is_found_and_covered() -> None:
    photo = read_image(TEXT / "label.jpg").rgb  # three lines on a label over a coffee cup
    lines = text.find_text(photo)
    assert len(lines) == 3
    assert [round(line.height) for line in lines] == sorted(round(line.height) for line in lines)[::-1]
    mask = text.text_mask(photo.shape[:2], lines)
    letters = np.all(photo[380:420, 420:640] < (0.4, 0.6, 0.4), axis=-1)  # "ORGANIC" in green
    assert letters.sum() > 500 and mask[380:420, 420:640][letters].min() == 1.0
    assert mask[:300].max() == 0.0  # nothing on the cup


def test_rotated_text_is_found_at_its_angle() -> None:
    lines = text.find_text(read_image(TEXT / "sign.jpg").rgb)  # the board is turned 15 degrees
    assert len(lines) == 2
    for line in lines:
        corners = np.array(line.corners, np.float32)
        (_, _), (width, height), angle = cv2.minAreaRect(corners)
        slope = angle if width > height else angle - 90
        assert abs(abs(slope) - 15) < 4, slope


def test_no_text_is_an_empty_mask_not_an_error(data_dir: Path) -> None:
    for name in ("brushstrokes.jpg", "subject/lion.jpg"):
        photo = read_image(data_dir / name).rgb
        assert text.find_text(photo) == []
        assert text.text_mask(photo.shape[:2], []).max() == 0.0


def test_text_of_one_percent_of_a_4k_pictures_height_is_found() -> None:
    with Image.open(TEXT / "poster.jpg") as poster:
        canvas = poster.resize((3840, 2880), Image.Resampling.BICUBIC)
    pen = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=29)  # 1 % of 2880
    pen.text((1200, 2500), "Best before 2027", font=font, fill=(255, 255, 255))
    lines = text.find_text(np.asarray(canvas, np.float32) / 255)  # searched on a 1920-px copy
    small = [line for line in lines if min(y for _, y in line.corners) > 2400]
    assert len(small) == 1
    xs = [x for x, _ in small[0].corners]
    ys = [y for _, y in small[0].corners]
    assert min(xs) < 1210 and max(xs) > 1400 and min(ys) < 2510 and max(ys) > 2525


def test_a_missing_or_damaged_detector_names_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = tmp_path / "det.onnx"
    damaged.write_bytes(b"not a network")
    monkeypatch.setattr(text, "model_path", lambda: damaged)
    photo = read_image(TEXT / "label.jpg").rgb
    with pytest.raises(UserInputError, match=r"wrong checksum\): pip install rapidocr==3.10.0"):
        text.find_text(photo)
    monkeypatch.setattr(text, "model_path", lambda: tmp_path / "missing.onnx")
    outcome = run_cli(capsys, "mask", TEXT / "label.jpg", "--text", "-o", tmp_path / "m.png")
    assert_one_line_error(outcome, 2, "cannot be read", "pip install rapidocr==3.10.0")
    assert not (tmp_path / "m.png").exists()


def test_protect_text_keeps_the_words_and_paints_the_rest() -> None:
    photo = resize(read_image(TEXT / "label.jpg").rgb, (384, 288))
    plain = brushwork.stylize(TEXT / "label.jpg", STARRY, method="fast", size=384)
    kept = brushwork.stylize(TEXT / "label.jpg", STARRY, method="fast", size=384, protect_text=True)
    assert kept.notes == ["protect-text: 3 lines of text found"]
    words = (slice(185, 215), slice(210, 320))  # "ORGANIC"
    away = (slice(0, 120), slice(0, 384))  # the cup and the table
    plain_change, kept_change = np.abs(plain.image - photo), np.abs(kept.image - photo)
    assert kept_change[words].mean() < 0.3 * plain_change[words].mean()
    np.testing.assert_allclose(kept.image[away], plain.image[away], atol=1e-6)


def test_strength_sets_how_much_of_the_photo_the_text_keeps() -> None:
    photo = resize(read_image(TEXT / "label.jpg").rgb, (384, 288))
    words = (slice(185, 215), slice(210, 320))
    change = {}
    for strength in (0.5, 1.0):
        result = brushwork.stylize(
            TEXT / "label.jpg",
            STARRY,
            method="fast",
            size=384,
            protect_text=True,
            protect_text_strength=strength,
        )
        change[strength] = float(np.abs(result.image - photo)[words].mean())
    assert change[1.0] < 0.01 < change[0.5]
    with pytest.raises(SettingsError, match="protect-text-strength needs --protect-text"):
        brushwork.stylize(TEXT / "label.jpg", STARRY, method="fast", size=64, protect_text_strength=0.5)
    with pytest.raises(SettingsError, match="between 0 and 1"):
        brushwork.stylize(
            TEXT / "label.jpg", STARRY, method="fast", size=64, protect_text=True, protect_text_strength=2
        )


def test_nothing_found_is_a_note(data_dir: Path) -> None:
    result = brushwork.stylize(
        data_dir / "subject" / "lion.jpg", STARRY, method="fast", size=96, protect_text=True
    )
    assert result.notes == ["protect-text: no text found"]


def test_the_text_mask_is_written_and_a_photo_without_text_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data_dir: Path
) -> None:
    out = tmp_path / "text.png"
    assert run_cli(capsys, "mask", TEXT / "sign.jpg", "--text", "-o", out, "--size", "384").status == 0
    mask = read_image(out).rgb[..., 0]
    assert mask.shape == (288, 384) and 0.02 < (mask > 0.5).mean() < 0.3
    outcome = run_cli(
        capsys, "mask", data_dir / "subject" / "lion.jpg", "--text", "-o", tmp_path / "none.png"
    )
    assert_one_line_error(outcome, 2, "no text found")
    painted = brushwork.stylize(TEXT / "sign.jpg", STARRY, method="fast", size=384, mask=str(out))
    found = brushwork.stylize(TEXT / "sign.jpg", STARRY, method="fast", size=384, mask="text")
    assert np.abs(painted.image - found.image).max() < 0.02


def test_protect_text_works_with_a_mask_and_protected_faces() -> None:
    photo = resize(read_image(TEXT / "optician.jpg").rgb, (384, 288))
    regions = {"mask": "background", "protect_faces": True}
    plain = brushwork.stylize(TEXT / "optician.jpg", STARRY, method="fast", size=384, **regions)
    kept = brushwork.stylize(
        TEXT / "optician.jpg", STARRY, method="fast", size=384, protect_text=True, **regions
    )
    assert kept.notes[0] == "protect-faces: 1 face found"
    assert kept.notes[1].startswith("protect-text: ") and kept.notes[1].endswith("lines of text found")
    words = (slice(212, 236), slice(120, 270))  # "NEW GLASSES", on the background
    assert np.abs(kept.image - photo)[words].mean() < 0.5 * np.abs(plain.image - photo)[words].mean()
