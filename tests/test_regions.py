"""Region masks: mask files, feathering, the subject finder and the face finder."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from brushwork.errors import ImageReadError, SettingsError, UserInputError
from brushwork.imageio import read_image
from brushwork.regions.faces import face_mask, find_faces
from brushwork.regions.masks import feather, fit, invert, read_mask
from brushwork.regions.resolve import region_mask
from brushwork.regions.subject import Box, find_subject, locate_subject


def save(path: Path, pixels: np.ndarray, mode: str | None = None) -> Path:
    Image.fromarray(pixels, mode).save(path)
    return path


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.fixture(scope="module")
def face(data_dir: Path) -> np.ndarray:
    return read_image(data_dir / "face.jpg").rgb  # 96x128 portrait


@pytest.fixture(scope="module")
def face_truth(data_dir: Path) -> np.ndarray:
    """The hand-made mask of the person in face.jpg (head and shoulders), as booleans."""
    return read_image(data_dir / "face_mask.png").rgb[..., 0] > 0.5


# ------------------------------------------------------------------------------------------ mask files


def test_grey_levels_are_the_mask(tmp_path: Path) -> None:
    pixels = np.array([[0, 128, 255], [255, 64, 0]], np.uint8)
    loaded = read_mask(save(tmp_path / "m.png", pixels))
    np.testing.assert_allclose(loaded.mask, pixels / 255, atol=1e-6)
    assert loaded.mask.dtype == np.float32 and loaded.notes == ()


def test_colour_masks_count_by_luminance(tmp_path: Path) -> None:
    pixels = np.zeros((2, 3, 3), np.uint8)
    pixels[0, 0] = (255, 0, 0)
    pixels[0, 1] = (0, 255, 0)
    pixels[1] = 255
    mask = read_mask(save(tmp_path / "m.png", pixels)).mask
    np.testing.assert_allclose(mask[0, :2], [0.299, 0.587], atol=0.003)
    np.testing.assert_allclose(mask[1], 1.0, atol=1e-6)


def test_a_transparent_alpha_channel_is_the_mask(tmp_path: Path) -> None:
    pixels = np.zeros((4, 4, 4), np.uint8)  # black colour everywhere: luminance would keep everything
    pixels[:2, :, 3] = 255
    mask = read_mask(save(tmp_path / "cutout.png", pixels, "RGBA")).mask
    np.testing.assert_array_equal(mask[:2], 1.0)
    np.testing.assert_array_equal(mask[2:], 0.0)


def test_an_opaque_alpha_channel_is_ignored(tmp_path: Path) -> None:
    pixels = np.full((4, 4, 4), 255, np.uint8)
    pixels[:, :2, :3] = 0
    mask = read_mask(save(tmp_path / "opaque.png", pixels, "RGBA")).mask
    np.testing.assert_array_equal(mask[:, :2], 0.0)
    np.testing.assert_array_equal(mask[:, 2:], 1.0)


def test_a_mask_of_another_size_is_resized_with_a_note(tmp_path: Path) -> None:
    pixels = np.zeros((80, 100), np.uint8)
    pixels[:, 50:] = 255
    loaded = read_mask(save(tmp_path / "m.png", pixels), (200, 160))
    assert loaded.mask.shape == (160, 200)
    assert loaded.notes == (f"mask {tmp_path / 'm.png'} is 100x80; resized to 200x160",)
    assert loaded.mask[:, :95].max() < 0.05 and loaded.mask[:, 105:].min() > 0.95
    stretched = read_mask(save(tmp_path / "m.png", pixels), (100, 100)).notes[0]
    assert stretched.endswith(
        "is 100x80; resized to 100x100 (its shape differs from the picture's: stretched to fit)"
    )
    assert fit(np.zeros((3, 4), np.float32), (4, 3))[1] is None


def test_an_all_black_mask_is_refused_in_one_line(tmp_path: Path) -> None:
    path = save(tmp_path / "black.jpg", np.full((16, 16), 2, np.uint8))  # JPEG noise is still black
    with pytest.raises(UserInputError, match="the mask keeps everything: nothing to paint") as raised:
        read_mask(path)
    assert "\n" not in str(raised.value)


def test_an_all_white_mask_is_allowed_with_a_note(tmp_path: Path) -> None:
    loaded = read_mask(save(tmp_path / "white.png", np.full((8, 8), 255, np.uint8)))
    assert loaded.notes == (f"{tmp_path / 'white.png'}: the mask paints everything",)


def test_all_black_and_all_white_are_judged_after_inversion(tmp_path: Path) -> None:
    white = save(tmp_path / "white.png", np.full((8, 8), 255, np.uint8))
    with pytest.raises(UserInputError, match=r"\(inverted\): the mask keeps everything"):
        read_mask(white, inverted=True)
    black = read_mask(save(tmp_path / "black.png", np.zeros((8, 8), np.uint8)), inverted=True)
    assert black.notes == (f"{tmp_path / 'black.png'} (inverted): the mask paints everything",)
    np.testing.assert_array_equal(black.mask, 1.0)


def test_invert_swaps_paint_and_keep() -> None:
    mask = np.array([[0.0, 0.25, 1.0]], np.float32)
    np.testing.assert_allclose(invert(mask), [[1.0, 0.75, 0.0]])


def test_a_file_that_is_not_an_image_is_a_one_line_read_error(tmp_path: Path) -> None:
    path = tmp_path / "mask.png"
    path.write_text("not an image")
    with pytest.raises(ImageReadError, match="not a JPEG, PNG") as raised:
        read_mask(path)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("px", [4, 10, 20])
def test_feather_ramps_a_hard_edge_over_about_px_pixels(px: float) -> None:
    mask = np.zeros((8, 120), np.float32)
    mask[:, 60:] = 1
    row = feather(mask, px)[4]
    ramp = np.count_nonzero((row > 0.1) & (row < 0.9))
    assert abs(ramp - px) <= 1.5
    assert row[0] == pytest.approx(0, abs=1e-4) and row[-1] == pytest.approx(1, abs=1e-4)  # edges untouched


def test_feather_zero_changes_nothing_and_negative_is_refused() -> None:
    mask = np.eye(5, dtype=np.float32)
    np.testing.assert_array_equal(feather(mask, 0), mask)
    with pytest.raises(SettingsError, match="feather must be a number of pixels, 0 or more"):
        feather(mask, -1)


# --------------------------------------------------------------------------------------------- subject


def disc_picture(centre: tuple[int, int], radius: int, size: tuple[int, int] = (96, 72)) -> np.ndarray:
    """A red disc on a green, noisy background."""
    width, height = size
    rng = np.random.default_rng(1)
    rgb = np.empty((height, width, 3), np.float32)
    rgb[...] = (0.2, 0.6, 0.25)
    rgb += rng.normal(0, 0.05, rgb.shape).astype(np.float32)
    disc = np.zeros((height, width), np.uint8)
    cv2.circle(disc, centre, radius, 1, -1)
    rgb[disc.astype(bool)] = (0.85, 0.15, 0.1)
    return np.clip(rgb, 0, 1)


def test_subject_finds_a_distinct_central_object() -> None:
    rgb = disc_picture((48, 40), 20)
    truth = np.all(rgb == rgb[40, 48], axis=-1)
    mask = find_subject(rgb)
    assert mask.shape == (72, 96) and mask.dtype == np.float32
    assert mask.min() >= 0 and mask.max() <= 1
    assert iou(mask > 0.5, truth) > 0.9


def test_a_box_finds_an_object_away_from_the_centre() -> None:
    rgb = disc_picture((18, 18), 12)
    truth = np.all(rgb == rgb[18, 18], axis=-1)
    mask = find_subject(rgb, box=(2, 2, 34, 34))
    assert iou(mask > 0.5, truth) > 0.85


def subject_photo(data_dir: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A 256-px photo of tests/data/subject and its hand-drawn mask (True: the subject)."""
    folder = data_dir / "subject"
    return read_image(folder / f"{name}.jpg").rgb, read_image(folder / f"{name}_mask.png").rgb[..., 0] > 0.5


@pytest.mark.parametrize(("name", "least"), [("face", 0.95), ("coffee", 0.92)])
def test_the_network_matches_the_hand_made_masks(data_dir: Path, name: str, least: float) -> None:
    rgb, truth = subject_photo(data_dir, name)
    found = locate_subject(rgb)
    assert found.method == "network" and found.note is None
    assert iou(found.mask > 0.5, truth) > least  # 0.988 and 0.955 measured
    np.testing.assert_array_equal(find_subject(rgb), found.mask)  # repeatable


def test_small_pictures_are_enlarged_smoothly_and_the_smallest_left_to_grabcut(
    face: np.ndarray, face_truth: np.ndarray
) -> None:
    found = locate_subject(face)  # 96x128: enlarged with cubic interpolation for the network
    assert found.method == "network" and iou(found.mask > 0.5, face_truth) > 0.9  # 0.96 measured
    tiny = cv2.resize(face, (48, 64), interpolation=cv2.INTER_AREA)
    assert locate_subject(tiny).method != "network"  # too little to see: GrabCut's turn


def test_the_network_finds_the_lion_that_fills_the_frame(data_dir: Path) -> None:
    rgb, truth = subject_photo(data_dir, "lion")
    found = locate_subject(rgb)
    # asked again in a frame (the first map is unsure), it finds the lion where GrabCut finds no cut
    assert found.method == "network" and iou(found.mask > 0.5, truth) > 0.9  # 0.95 measured


def test_the_network_refines_its_edges_at_full_resolution() -> None:
    from brushwork.regions import u2net

    rgb = disc_picture((640, 400), 250, size=(1280, 800))
    truth = np.all(rgb == rgb[400, 640], axis=-1)
    rough = cv2.resize(u2net.saliency(rgb), (1280, 800), interpolation=cv2.INTER_LINEAR)
    refined = u2net.subject_mask(rgb)
    edge = cv2.morphologyEx(truth.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((9, 9), np.uint8)) > 0
    # on the outline, the refined mask is closer to the disc (the 320-px map is a blurred band there)
    assert np.abs(refined - truth)[edge].mean() < 0.5 * np.abs(rough - truth)[edge].mean()


def test_without_onnxruntime_grabcut_finds_the_subject_with_a_note(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    from brushwork.regions import u2net

    monkeypatch.setattr(u2net, "runtime_available", lambda: False)
    rgb, truth = subject_photo(data_dir, "face")
    found = locate_subject(rgb)
    assert found.method == "cut" and found.note is not None and "pip install onnxruntime" in found.note
    assert iou(found.mask > 0.5, truth) > 0.7  # GrabCut: 0.90 at 600x800


def test_a_damaged_model_file_is_one_line_naming_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from brushwork.regions import u2net

    bad = tmp_path / "u2netp.onnx"
    bad.write_bytes(b"not a network")
    monkeypatch.setattr(u2net, "MODEL_FILE", bad)
    with pytest.raises(UserInputError, match=r"damaged \(wrong checksum\): reinstall brushwork"):
        find_subject(disc_picture((48, 40), 20))
    monkeypatch.setattr(u2net, "MODEL_FILE", tmp_path / "missing.onnx")
    with pytest.raises(UserInputError, match="cannot be read"):
        find_subject(disc_picture((48, 40), 20))


def test_the_guided_filter_smooths_but_keeps_the_pictures_edges() -> None:
    from brushwork.regions.guided import guided_filter

    rng = np.random.default_rng(0)
    guide = np.zeros((40, 60, 3), np.float32)
    guide[:, 30:] = (0.9, 0.2, 0.1)
    step = (guide[..., 0] > 0.5).astype(np.float32)
    noisy = step + rng.normal(0, 0.1, step.shape).astype(np.float32)
    filtered = guided_filter(guide, noisy, 6, 1e-4)
    box = cv2.blur(noisy, (13, 13), borderType=cv2.BORDER_REFLECT)  # the same window, blind to edges
    assert np.abs(filtered - step).mean() < 0.3 * np.abs(noisy - step).mean()
    assert np.abs(filtered - step)[:, 26:34].mean() < 0.25 * np.abs(box - step)[:, 26:34].mean()
    with pytest.raises(ValueError, match="radius must be at least 1"):
        guided_filter(guide, noisy, 0, 1e-4)


def test_a_flat_picture_falls_back_to_grabcut_and_the_centre_ellipse_with_a_note() -> None:
    found = locate_subject(np.full((40, 50, 3), 0.5, np.float32))
    assert found.method == "centre ellipse" and found.note is not None and "no clear subject" in found.note
    assert found.mask[25, 25] == 1 and found.mask[0, 0] == 0 and found.mask[20, 2] == 0


def test_an_empty_box_falls_back_to_the_whole_box() -> None:
    found = locate_subject(np.full((40, 50, 3), 0.5, np.float32), box=(10, 5, 20, 30))
    assert found.method == "box" and found.note == "no subject found inside the box: using the whole box"
    assert found.mask[5:35, 10:30].min() == 1 and found.mask[:, 32:].max() == 0


@pytest.mark.parametrize("box", [(0, 0, 200, 10), (-1, 0, 10, 10), (5, 5, 1, 10)])
def test_a_box_outside_the_picture_is_a_settings_error(box: tuple[int, int, int, int]) -> None:
    with pytest.raises(SettingsError, match="must lie inside the 96x72 picture"):
        find_subject(disc_picture((48, 36), 10), box=box)


# ----------------------------------------------------------------------------------------------- faces


def test_the_face_is_found_and_its_box_lies_on_the_person(face: np.ndarray, face_truth: np.ndarray) -> None:
    boxes = find_faces(face)
    assert len(boxes) == 1
    x, y, w, h = boxes[0]
    assert face_truth[y : y + h, x : x + w].mean() > 0.7  # 0.78: the square box has background at its corners
    assert 30 <= w <= 60  # the head is about 45 pixels wide at this size


def test_no_faces_in_a_landscape_or_a_painting(data_dir: Path) -> None:
    for name in ("tubingen.jpg", "starry_night.jpg", "lion.jpg"):
        assert find_faces(read_image(data_dir / name).rgb) == [], name


def test_face_mask_covers_the_box_with_a_soft_edge() -> None:
    box = Box(20, 30, 40, 40)
    hard = face_mask((100, 80), [box])
    assert hard.shape == (100, 80) and hard.dtype == np.float32
    assert hard[25:70, 35:45].min() == 1 and hard[45, 22:58].min() == 1  # taller than the box, as wide
    assert hard[:, :4].max() == 0 and hard[95:].max() == 0
    soft = face_mask((100, 80), [box], feather=8)
    assert np.count_nonzero((soft > 0.05) & (soft < 0.95)) > 2 * np.count_nonzero((hard > 0) & (hard < 1))
    assert soft[50, 40] == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_array_equal(face_mask((10, 10), []), 0.0)


# ----------------------------------------------------------------------------------------- region_mask


def test_region_mask_reads_resizes_inverts_and_feathers_a_file(tmp_path: Path) -> None:
    pixels = np.zeros((30, 40), np.uint8)
    pixels[:, 20:] = 255
    path = save(tmp_path / "half.png", pixels)
    picture = np.zeros((60, 80, 3), np.float32)
    loaded = region_mask(path, picture, inverted=True, feather_px=6)
    assert loaded.mask.shape == (60, 80)
    assert loaded.notes == (f"mask {path} is 40x30; resized to 80x60",)
    assert loaded.mask[:, :30].min() > 0.99 and loaded.mask[:, 50:].max() < 0.01  # inverted
    assert 0.3 < loaded.mask[30, 40] < 0.7 and 0.02 < loaded.mask[30, 37] < 0.98  # feathered edge


def test_region_mask_subject_and_background_are_complements() -> None:
    rgb = disc_picture((48, 40), 20)
    subject = region_mask("subject", rgb).mask
    background = region_mask("background", rgb).mask
    np.testing.assert_allclose(subject + background, 1.0, atol=1e-6)
    np.testing.assert_array_equal(region_mask("subject", rgb, inverted=True).mask, background)
    assert subject[40, 48] > 0.99 and subject[2, 2] < 0.01


def test_region_mask_faces(face: np.ndarray, data_dir: Path) -> None:
    loaded = region_mask("faces", face, feather_px=4)
    assert loaded.notes == ("mask 'faces': 1 face found",)
    x, y, w, h = find_faces(face)[0]
    assert loaded.mask[y + h // 2, x + w // 2] == pytest.approx(1.0, abs=1e-3)
    assert loaded.mask[-5:].max() < 0.01
    with pytest.raises(UserInputError, match="mask 'faces': no face found in the photo"):
        region_mask("faces", read_image(data_dir / "tubingen.jpg").rgb)


def test_region_mask_refuses_a_box_with_a_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="a subject box applies only to"):
        region_mask(tmp_path / "m.png", np.zeros((4, 4, 3), np.float32), box=(0, 0, 2, 2))
