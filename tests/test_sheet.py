"""Tests for brushwork.sheet: grid geometry, where each picture lands, letterboxing, labels, the
stylizing sheets (with a stand-in for stylize) and `brushwork sheet`."""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from brushwork import sheet
from brushwork.cli import main
from brushwork.config import Settings
from brushwork.errors import SettingsError, UserInputError
from brushwork.imageio import Picture, read_image
from brushwork.sheet import make_sheet, parse_sweep, save_sheet

WHITE = (255, 255, 255)
# Explicit geometry: cell 20, gap 4, label band 10 high, row-label band 30 wide.
GEOMETRY: dict[str, Any] = {"cell_size": 20, "gap": 4, "label_height": 10, "row_label_width": 30}
STEP = 24  # cell + gap


def solid(rgb: tuple[int, int, int], width: int = 16, height: int = 16) -> np.ndarray:
    return np.tile(np.array(rgb, dtype=np.uint8), (height, width, 1))


def centre(image: Image.Image, left: int, top: int) -> tuple[int, int, int]:
    """The colour at the centre of the 20-pixel cell whose top-left corner is (left, top)."""
    value = image.getpixel((left + 10, top + 10))
    assert isinstance(value, tuple)
    return (int(value[0]), int(value[1]), int(value[2]))


COLOURS = [[(200, 0, 0), (0, 200, 0), (0, 0, 200)], [(200, 200, 0), (0, 200, 200), (200, 0, 200)]]


def test_size_is_cells_plus_gaps_plus_header_bands() -> None:
    cells = [[solid(c) for c in row] for row in COLOURS]
    bare = make_sheet(cells, **GEOMETRY)
    assert bare.size == (4 + 3 * STEP, 4 + 2 * STEP)
    labelled = make_sheet(cells, row_labels=["a", "b"], col_labels=["x", "y", "z"], title="t", **GEOMETRY)
    assert labelled.size == (4 + 34 + 3 * STEP, 4 + 14 + 14 + 2 * STEP)
    with_inputs = make_sheet(
        cells, row_images=[solid((9, 9, 9))] * 2, col_images=[solid((9, 9, 9))] * 3, **GEOMETRY
    )
    assert with_inputs.size == (4 + 4 * STEP, 4 + 3 * STEP)


def test_each_picture_lands_in_its_cell() -> None:
    cells = [[solid(c) for c in row] for row in COLOURS]
    rows = [solid((10, 20, 30)), solid((40, 50, 60))]
    cols = [solid((70, 80, 90)), solid((100, 110, 120)), solid((130, 140, 150))]
    image = make_sheet(
        cells, row_labels=["a", "b"], col_labels=["x", "y", "z"], row_images=rows, col_images=cols, **GEOMETRY
    )
    x_rows, y_cols = 4 + 34, 4 + 14  # after the row-label band; after the column-label band
    x_cells, y_cells = x_rows + STEP, y_cols + STEP
    for r, row in enumerate(COLOURS):
        assert centre(image, x_rows, y_cells + r * STEP) == tuple(rows[r][0, 0])
        for c, colour in enumerate(row):
            assert centre(image, x_cells + c * STEP, y_cells + r * STEP) == colour
    for c in range(3):
        assert centre(image, x_cells + c * STEP, y_cols) == tuple(cols[c][0, 0])
    assert centre(image, x_rows, y_cols) == WHITE  # the corner stays empty


def test_a_wide_picture_is_letterboxed_not_cropped() -> None:
    wide = np.zeros((10, 40, 3), np.uint8)
    wide[:, :20] = (255, 0, 0)
    wide[:, 20:] = (0, 0, 255)
    image = np.asarray(make_sheet([[wide]], **GEOMETRY))
    cell = image[4:24, 4:24]
    painted_rows = np.flatnonzero((cell != 255).any(axis=(1, 2)))
    assert list(painted_rows) == list(range(7, 12))  # 40x10 fits as 20x5, centred: rows 7-11
    middle = cell[9]
    assert tuple(middle[0]) == (255, 0, 0) and tuple(middle[-1]) == (0, 0, 255)  # both ends kept
    assert (cell[:7] == 255).all() and (cell[12:] == 255).all()


def test_a_tall_picture_keeps_its_aspect_ratio() -> None:
    tall = solid((0, 120, 0), width=15, height=60)
    cell = np.asarray(make_sheet([[tall]], **GEOMETRY))[4:24, 4:24]
    painted_cols = np.flatnonzero((cell != 255).any(axis=(0, 2)))
    assert list(painted_cols) == list(range(7, 12))  # 15x60 fits as 5x20, centred: columns 7-11


def test_inputs_of_every_kind_and_empty_cells(tmp_path: Path) -> None:
    path = tmp_path / "blue.png"
    Image.fromarray(solid((0, 0, 255))).save(path)
    transparent = Picture(rgb=np.zeros((8, 8, 3), np.float32), alpha=np.zeros((8, 8), np.float32), bits=8)
    cells = [[path, Image.fromarray(solid((0, 255, 0))), solid((255, 0, 0)).astype(np.float32) / 255.0]]
    cells.append([None, transparent, Picture(rgb=np.full((8, 8, 3), 0.5, np.float32), alpha=None, bits=8)])
    image = make_sheet(cells, **GEOMETRY)
    assert centre(image, 4, 4) == (0, 0, 255)
    assert centre(image, 4 + STEP, 4) == (0, 255, 0)
    assert centre(image, 4 + 2 * STEP, 4) == (255, 0, 0)
    assert centre(image, 4, 4 + STEP) == WHITE  # None: empty
    assert centre(image, 4 + STEP, 4 + STEP) == WHITE  # fully transparent: the background shows
    assert centre(image, 4 + 2 * STEP, 4 + STEP) == (128, 128, 128)


def test_labels_are_drawn_in_their_bands() -> None:
    cells = [[solid((255, 255, 255))]]
    geometry = {**GEOMETRY, "cell_size": 64, "label_height": 16, "row_label_width": 40}
    labelled = np.asarray(make_sheet(cells, row_labels=["row"], col_labels=["column"], title="T", **geometry))
    blank = np.asarray(make_sheet(cells, row_labels=[""], col_labels=[""], title="", **geometry))
    assert labelled.shape == blank.shape
    assert (blank == 255).all()
    title_band, col_band = labelled[4:20], labelled[24:40]
    row_band = labelled[44:108, 4:44]
    for band in (title_band, col_band, row_band):
        assert (band < 128).any()


def test_mismatched_grids_are_user_errors() -> None:
    with pytest.raises(UserInputError, match="every row"):
        make_sheet([[solid((1, 1, 1))], [solid((1, 1, 1)), solid((1, 1, 1))]])
    with pytest.raises(UserInputError, match="column labels"):
        make_sheet([[solid((1, 1, 1))]], col_labels=["a", "b"])
    with pytest.raises(UserInputError, match="at least one"):
        make_sheet([])


def test_save_sheet_writes_the_pixels(tmp_path: Path) -> None:
    image = make_sheet([[solid(c) for c in row] for row in COLOURS], col_labels=["a", "b", "c"], **GEOMETRY)
    save_sheet(image, tmp_path / "sheet.png")
    written = read_image(tmp_path / "sheet.png")
    assert written.size == image.size
    assert np.array_equal(np.round(written.rgb * 255).astype(np.uint8), np.asarray(image))
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.png"]  # no temporary file left


# --------------------------------------------------------------------------------------- parse_sweep


def test_parse_sweep_reads_values_as_the_setting_type() -> None:
    assert parse_sweep("style-weight=0.3,1,3") == ("style_weight", [0.3, 1.0, 3.0])
    assert parse_sweep("steps=5, 10") == ("steps", [5, 10])
    assert parse_sweep("seed=none,1") == ("seed", [None, 1])
    assert parse_sweep("pyramid=off,true") == ("pyramid", [False, True])
    assert parse_sweep("style_loss=gram,meancov") == ("style_loss", ["gram", "meancov"])
    assert parse_sweep("style-layers=relu1_1+relu2_1,relu3_1") == (
        "style_layers",
        [("relu1_1", "relu2_1"), ("relu3_1",)],
    )


@pytest.mark.parametrize(
    "spec", ["bogus=1", "style_weight", "quality=ultra", "steps=1.5", "size=1,,2", "pyramid=2"]
)
def test_parse_sweep_rejects_bad_specs(spec: str) -> None:
    with pytest.raises(SettingsError):
        parse_sweep(spec)


# ------------------------------------------------------------------- stylizing sheets, stylize faked


@pytest.fixture
def fake_stylize(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """stylize() replaced by a solid picture: red = the content's red, green = the style's green,
    blue = 10 × style_weight. Records the settings of every call."""
    calls: list[Settings] = []

    def fake(content: Picture, style: Picture, *, settings: Settings, **_: Any) -> Any:
        calls.append(settings)
        colour = [content.rgb[0, 0, 0], style.rgb[0, 0, 1], settings.style_weight * 10 / 255]
        image = np.tile(np.array(colour, np.float32), (16, 16, 1))
        return types.SimpleNamespace(image=image, alpha=None, timings={"total": 0.0})

    monkeypatch.setattr(sheet, "stylize", fake)
    return calls


def test_stylize_sheet_puts_content_rows_and_style_columns(fake_stylize: list[Settings]) -> None:
    contents = [solid((10, 0, 0)), solid((20, 0, 0))]
    styles = [solid((0, 30, 0)), solid((0, 40, 0)), solid((0, 50, 0))]
    done: list[tuple[int, int, int]] = []
    image = sheet.stylize_sheet(
        contents,
        styles,
        settings=Settings(size=20, style_weight=1.0),
        on_cell=lambda cell: done.append((cell.row, cell.col, cell.done)),
    )
    g, h, w = sheet.default_gap(20), sheet.default_label_height(20), sheet.default_row_label_width(20)
    step = 20 + g
    x_cells, y_cells = g + w + g + step, g + h + g + step
    assert image.size == (x_cells + 3 * step, y_cells + 2 * step)
    for r in range(2):
        assert centre(image, x_cells - step, y_cells + r * step) == tuple(contents[r][0, 0])
        for c in range(3):
            assert centre(image, x_cells + c * step, y_cells + r * step) == (10 * (r + 1), 30 + 10 * c, 10)
    assert done == [(0, 0, 1), (0, 1, 2), (0, 2, 3), (1, 0, 4), (1, 1, 5), (1, 2, 6)]
    assert len(fake_stylize) == 6


def test_sweep_sheet_varies_one_setting_across_columns(fake_stylize: list[Settings]) -> None:
    image = sheet.sweep_sheet(
        [solid((10, 0, 0))],
        [solid((0, 30, 0))],
        "style_weight",
        [1.0, 2.0, 4.0],
        settings=Settings(size=20),
        show_inputs=False,
    )
    assert [s.style_weight for s in fake_stylize] == [1.0, 2.0, 4.0]
    g, h, w = sheet.default_gap(20), sheet.default_label_height(20), sheet.default_row_label_width(20)
    step = 20 + g
    x_cells, y_cells = g + w + g, g + (h + g) * 2  # title and value labels
    assert image.size == (x_cells + 3 * step, y_cells + step)
    for c, weight in enumerate([1, 2, 4]):
        assert centre(image, x_cells + c * step, y_cells) == (10, 30, 10 * weight)


def test_sweep_checks_every_value_before_stylizing(fake_stylize: list[Settings]) -> None:
    with pytest.raises(SettingsError, match="style-weight"):
        sheet.sweep_sheet([solid((1, 1, 1))], [solid((1, 1, 1))], "style_weight", [1.0, -1.0])
    with pytest.raises(SettingsError, match="not a setting"):
        sheet.sweep_sheet([solid((1, 1, 1))], [solid((1, 1, 1))], "bogus", [1])
    assert fake_stylize == []


# ------------------------------------------------------------------------------------------------ CLI


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("one_torch_thread")
def test_cli_sheet_of_two_contents_and_one_style(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data_dir: Path, style_image: Path
) -> None:
    output = tmp_path / "sheet.png"
    contents = [data_dir / "tubingen.jpg", data_dir / "face.jpg"]
    argv = ["sheet", "--contents", *contents, "--styles", style_image, "-o", output]
    status = main(
        [str(a) for a in [*argv, "--size", "48", "--steps", "2", "--quality", "draft", "--seed", "0"]]
    )
    err = capsys.readouterr().err
    assert status == 0, err
    # cell 48: gap 2, label band 12, row-label band 48; plus the content column and the style row
    step = 48 + 2
    with Image.open(output) as written:
        assert written.format == "PNG"
        assert written.size == (2 + 48 + 2 + step + 1 * step, 2 + 12 + 2 + step + 2 * step)
        record = json.loads(written.text["brushwork"])
    assert record["settings"]["size"] == 48 and record["settings"]["steps"] == 2
    assert record["contents"] == [str(c) for c in contents]
    assert "[2/2]" in err and "wrote" in err


def test_cli_sheet_rejects_bad_sweeps_and_inputs_before_running(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content_image: Path, style_image: Path
) -> None:
    output = tmp_path / "sweep.png"
    base = ["sheet", "--content", str(content_image), "--style", str(style_image), "-o", str(output)]
    for extra, mention in [
        (["--sweep", "bogus=1"], "bogus"),
        (["--sweep", "style-weight=1,-2"], "style-weight"),
        (["--contents", str(tmp_path / "missing.jpg")], "missing.jpg"),
        (["-o", str(tmp_path / "sheet.xyz")], "xyz"),
    ]:
        status = main([*base, *extra])
        captured = capsys.readouterr()
        assert status == 2, (extra, captured.err)
        lines = captured.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("brushwork: error:") and mention in lines[0]
    assert list(tmp_path.iterdir()) == []
