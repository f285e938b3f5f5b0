"""Tests for the command line: exit statuses, one-line error messages, and the files a run writes.

Most tests call ``brushwork.cli.main(argv)`` in-process; a few run ``python -m brushwork`` and the
``brushwork`` console script to check real exit statuses and stderr. Every run is tiny (48 px, 2 steps).
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

import brushwork
from brushwork import api
from brushwork.cli import main
from brushwork.config import Settings
from brushwork.features import find_weights
from brushwork.imageio import read_image

LONG_SIDE = 48
TINY = ["--size", str(LONG_SIDE), "--steps", "2", "--quality", "draft"]


# ----------------------------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Outcome:
    status: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *argv: object) -> Outcome:
    """Run main() in-process; argparse's SystemExit (usage errors, --help) counts as the exit status."""
    try:
        status = main([str(a) for a in argv])
    except SystemExit as stop:
        status = 0 if stop.code is None else stop.code if isinstance(stop.code, int) else 1
    captured = capsys.readouterr()
    return Outcome(status, captured.out, captured.err)


def assert_one_line_error(outcome: Outcome, status: int, *mentions: str) -> str:
    """Exit `status`, nothing on stdout, exactly one non-empty stderr line naming each of `mentions`."""
    assert outcome.status == status, outcome
    assert "Traceback" not in outcome.err + outcome.out
    assert outcome.out == ""
    lines = outcome.err.splitlines()
    assert len(lines) == 1, outcome.err
    line = lines[0]
    assert line.startswith("brushwork: ") and len(line) > len("brushwork: error: ")
    for mention in mentions:
        assert mention in line, f"{mention!r} not in {line!r}"
    return line


def files_under(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def expected_size(content: Path, long_side: int = LONG_SIDE) -> tuple[int, int]:
    with Image.open(content) as im:
        width, height = im.size
    scale = long_side / max(width, height)
    return round(width * scale), round(height * scale)


def write_noise_image(path: Path, size: tuple[int, int] = (64, 48), **save_options: Any) -> Path:
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, **save_options)
    return path


def write_truncated(path: Path, **save_options: Any) -> Path:
    write_noise_image(path, **save_options)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_bomb_png(path: Path, width: int, height: int) -> Path:
    """A valid, all-black 1-bit PNG of width x height: a few hundred KB on disk, huge when decoded."""
    row = b"\0" * (1 + (width + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    rows_per_block = 1000
    idat = [compressor.compress(row * rows_per_block) for _ in range(height // rows_per_block)]
    idat.append(compressor.compress(row * (height % rows_per_block)) + compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", b"".join(idat))
        + png_chunk(b"IEND", b"")
    )
    return path


def png_bit_depth(path: Path) -> int:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return data[24]


def as_array(path: Path) -> np.ndarray[Any, np.dtype[np.float32]]:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0


def expected_settings(**given: Any) -> dict[str, Any]:
    """The defaults with the given options, as JSON holds them (tuples become lists)."""
    return json.loads(json.dumps(Settings(**given).to_dict()))


# ---------------------------------------------------------------------------------- user errors: exit 2


@dataclass(frozen=True)
class Inputs:
    folder: Path
    content: Path
    style: Path
    second_style: Path

    @property
    def out(self) -> Path:
        return self.folder / "out.png"

    def argv(
        self, *extra: object, styles: tuple[Path, ...] | None = None, out: Path | None = None
    ) -> list[object]:
        return [self.content, *(styles or (self.style,)), "-o", out or self.out, *TINY, *extra]


Case = Callable[[Inputs], tuple[list[object], list[str]]]


def missing_content(i: Inputs) -> tuple[list[object], list[str]]:
    return [i.folder / "no_such_photo.jpg", i.style, "-o", i.out, *TINY], ["no_such_photo.jpg"]


def missing_style(i: Inputs) -> tuple[list[object], list[str]]:
    return i.argv(styles=(i.folder / "no_such_style.jpg",)), ["no_such_style.jpg"]


def directory_content(i: Inputs) -> tuple[list[object], list[str]]:
    (i.folder / "photos").mkdir()
    return [i.folder / "photos", i.style, "-o", i.out, *TINY], ["photos", "directory"]


def text_as_image(i: Inputs) -> tuple[list[object], list[str]]:
    (i.folder / "notes.jpg").write_text("not a picture, just some words\n")
    return i.argv(styles=(i.folder / "notes.jpg",)), ["notes.jpg"]


def truncated_jpeg(i: Inputs) -> tuple[list[object], list[str]]:
    cut = write_truncated(i.folder / "cut.jpg", quality=95)
    return [cut, i.style, "-o", i.out, *TINY], ["cut.jpg"]


def truncated_png(i: Inputs) -> tuple[list[object], list[str]]:
    cut = write_truncated(i.folder / "cut.png")
    return i.argv(styles=(cut,)), ["cut.png"]


def empty_file(i: Inputs) -> tuple[list[object], list[str]]:
    (i.folder / "empty.png").write_bytes(b"")
    return [i.folder / "empty.png", i.style, "-o", i.out, *TINY], ["empty.png", "empty"]


def bomb_beyond_pillow_limit(i: Inputs) -> tuple[list[object], list[str]]:
    bomb = write_bomb_png(i.folder / "bomb.png", 30000, 30000)
    return [bomb, i.style, "-o", i.out, *TINY], ["bomb.png", "limit"]


def bomb_beyond_our_limit(i: Inputs) -> tuple[list[object], list[str]]:
    # 144 million pixels: below Pillow's own hard limit (about 179 million), above brushwork's 100 million.
    bomb = write_bomb_png(i.folder / "bomb.png", 12000, 12000)
    return i.argv(styles=(bomb,)), ["bomb.png", "limit"]


def no_output_option(i: Inputs) -> tuple[list[object], list[str]]:
    return [i.content, i.style, *TINY], ["--output"]


def option(*extra: object, mentions: list[str], two_styles: bool = False) -> Case:
    def case(i: Inputs) -> tuple[list[object], list[str]]:
        styles = (i.style, i.second_style) if two_styles else None
        return i.argv(*extra, styles=styles), mentions

    return case


def output_at(name: str, *extra: object, mentions: list[str]) -> Case:
    def case(i: Inputs) -> tuple[list[object], list[str]]:
        return i.argv(*extra, out=i.folder / name), mentions

    return case


USER_ERRORS: dict[str, Case] = {
    "missing content": missing_content,
    "missing style": missing_style,
    "directory as content": directory_content,
    "text file as image": text_as_image,
    "truncated jpeg": truncated_jpeg,
    "truncated png": truncated_png,
    "empty file": empty_file,
    "bomb 30000x30000": bomb_beyond_pillow_limit,
    "bomb 12000x12000": bomb_beyond_our_limit,
    "negative style weight": option("--style-weight", "-1", mentions=["style-weight"]),
    "negative content weight": option("--content-weight", "-0.5", mentions=["content-weight"]),
    "size 0": option("--size", "0", mentions=["size"]),
    "size -5": option("--size", "-5", mentions=["size"]),
    "steps 0": option("--steps", "0", mentions=["steps"]),
    "unknown layer": option("--style-layers", "relu9_9", mentions=["relu9_9"]),
    "unknown quality": option("--quality", "ultra", mentions=["--quality", "ultra"]),
    "blend count": option("--style-blend", "1", "2", mentions=["style-blend"]),
    "blend all zero": option("--style-blend", "0", "0", mentions=["style-blend"], two_styles=True),
    "nan weight": option("--tv-weight", "nan", mentions=["tv-weight", "nan"]),
    "not a number": option("--size", "big", mentions=["--size", "big"]),
    "negative save-every": option("--save-every", "-1", mentions=["save-every"]),
    "max-memory nonsense": option("--max-memory", "lots", mentions=["max-memory", "lots"]),
    "max-memory too small": option("--max-memory", "10MB", mentions=["max-memory"]),
    "tile size off the grid": option("--tile-size", "100", mentions=["tile-size", "16"]),
    "too big for the budget": option(
        "--size", "8000", "--max-memory", "700MB", mentions=["8000x6000", "--size", "--max-memory"]
    ),
    "no -o": no_output_option,
    "unknown extension": output_at("out.xyz", mentions=["out.xyz", ".xyz"]),
    "missing directory": output_at("missing_dir/out.png", mentions=["missing_dir"]),
    "16 bits in jpeg": output_at("out.jpg", "--bit-depth", "16", mentions=["bit-depth"]),
    "cuda without a gpu": pytest.param(
        option("--device", "cuda", mentions=["cuda"]),
        marks=pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present"),
    ),
}


@pytest.fixture
def inputs(tmp_path: Path, content_image: Path, style_image: Path, second_style_image: Path) -> Inputs:
    return Inputs(tmp_path, content_image, style_image, second_style_image)


@pytest.mark.parametrize("case", USER_ERRORS.values(), ids=USER_ERRORS.keys())
def test_user_error_is_one_line_and_exit_2(
    case: Case, inputs: Inputs, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, mentions = case(inputs)
    before = files_under(inputs.folder)
    outcome = run_cli(capsys, *argv)
    line = assert_one_line_error(outcome, 2, *mentions)
    assert line.startswith("brushwork: error: ")
    assert files_under(inputs.folder) == before  # no output, no intermediate or temporary file


def test_existing_output_survives_a_failed_run(inputs: Inputs, capsys: pytest.CaptureFixture[str]) -> None:
    inputs.out.write_bytes(b"an earlier result")
    (inputs.folder / "bad_style.png").write_text("garbage")
    before = files_under(inputs.folder)
    outcome = run_cli(capsys, *inputs.argv(styles=(inputs.folder / "bad_style.png",)))
    assert_one_line_error(outcome, 2, "bad_style.png")
    assert files_under(inputs.folder) == before


# -------------------------------------------------------------------------- interruptions, internal errors


def interrupt_after_first_step(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the real stylize() raise KeyboardInterrupt from its callback, as Ctrl-C during a run would."""
    real = api.stylize
    steps_seen: list[int] = []

    def interrupted(*args: Any, callback: api.Callback | None = None, **kwargs: Any) -> api.StylizeResult:
        def ctrl_c(progress: api.Progress) -> None:
            if callback is not None:
                callback(progress)
            steps_seen.append(progress.done)
            raise KeyboardInterrupt

        return real(*args, callback=ctrl_c, **kwargs)

    monkeypatch.setattr(api, "stylize", interrupted)
    return steps_seen


@pytest.mark.parametrize("existing", [None, b"an earlier result"], ids=["no output", "existing output"])
def test_interrupt_exits_130_and_writes_nothing(
    existing: bytes | None,
    inputs: Inputs,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps_seen = interrupt_after_first_step(monkeypatch)
    if existing is not None:
        inputs.out.write_bytes(existing)
    before = files_under(inputs.folder)
    outcome = run_cli(capsys, *inputs.argv())
    assert steps_seen == [1]  # the optimizer was really running
    assert_one_line_error(outcome, 130, "interrupted")
    assert files_under(inputs.folder) == before


def test_internal_error_exits_1_in_one_line(
    inputs: Inputs, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> api.StylizeResult:
        raise RuntimeError("the optimizer fell over")

    monkeypatch.setattr(api, "stylize", broken)
    monkeypatch.delenv("BRUSHWORK_DEBUG", raising=False)
    outcome = run_cli(capsys, *inputs.argv())
    assert_one_line_error(outcome, 1, "RuntimeError", "the optimizer fell over")
    assert not inputs.out.exists()


# ------------------------------------------------------------------------------------------- good runs


@pytest.mark.parametrize("content_name", ["tubingen.jpg", "the_scream.jpg"], ids=["landscape", "portrait"])
def test_shortcut_writes_png_of_the_long_side(
    content_name: str, data_dir: Path, style_image: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content, out = data_dir / content_name, tmp_path / "out.png"
    outcome = run_cli(capsys, content, style_image, "-o", out, *TINY)
    assert outcome.status == 0, outcome
    with Image.open(out) as im:
        assert im.format == "PNG"
        assert im.size == expected_size(content)
        assert max(im.size) == LONG_SIDE
    lines = outcome.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"wrote {out}"), outcome.err
    assert outcome.out == ""


def test_output_shows_the_whole_content(
    style_image: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With only the content loss the picture stays the (resized) photo: nothing cropped or flipped."""
    yy, xx = np.mgrid[0:60, 0:120]
    pixels = np.dstack([xx * 2, yy * 4, np.where(xx < 20, 255, 40)]).astype(np.uint8)
    content = tmp_path / "gradient.png"
    Image.fromarray(pixels).save(content)
    out = tmp_path / "out.png"
    argv = [
        content,
        style_image,
        "-o",
        out,
        *TINY,
        "--style-weight",
        "0",
        "--tv-weight",
        "0",
        "--init",
        "content",
    ]
    assert run_cli(capsys, *argv).status == 0
    expected = Image.fromarray(pixels).resize((48, 24), Image.Resampling.LANCZOS)
    difference = np.abs(as_array(out) - np.asarray(expected, dtype=np.float32) / 255.0)
    assert difference.shape == (24, 48, 3)
    assert difference.mean() < 0.02


def test_stylize_blends_two_styles(inputs: Inputs, capsys: pytest.CaptureFixture[str]) -> None:
    """A blend is neither style alone, and leans toward the heavier one: 3:1 is nearer the first style's
    own picture than 1:3 is, and 1:3 nearer the second's (measured: 0.015 against 0.061 and 0.044
    against 0.090 in mean absolute difference; the two single-style pictures are 0.10 apart)."""

    def paint(styles: tuple[Path, ...], blend: tuple[str, ...] | None) -> np.ndarray[Any, Any]:
        out = inputs.folder / f"{'_'.join(p.stem for p in styles)}_{'_'.join(blend or ())}.png"
        # L-BFGS's first step is tiny (it moves the pixels by 1 in L1 norm), so two steps change nothing.
        extra = ["--style-blend", *blend] if blend else []
        argv = inputs.argv("--steps", "6", *extra, styles=styles, out=out)
        outcome = run_cli(capsys, "stylize", *argv)
        assert outcome.status == 0, outcome
        if blend:
            record = json.loads(Image.open(out).text["brushwork"])
            assert record["settings"]["style_blend"] == [float(b) for b in blend]
        return as_array(out)

    both = (inputs.style, inputs.second_style)
    first, second = paint(both, ("3", "1")), paint(both, ("1", "3"))
    only_first, only_second = paint(both[:1], None), paint(both[1:], None)

    def apart(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> float:
        assert a.shape == b.shape
        return float(np.abs(a - b).mean())

    for blend in (first, second):
        assert apart(blend, only_first) > 0.005 and apart(blend, only_second) > 0.005  # neither style alone
    assert apart(first, second) > 0.01  # the weights change the picture
    assert apart(first, only_first) < apart(second, only_first)
    assert apart(second, only_second) < apart(first, only_second)


def test_json_prints_one_record_line(inputs: Inputs, capsys: pytest.CaptureFixture[str]) -> None:
    outcome = run_cli(capsys, *inputs.argv("--json"))
    assert outcome.status == 0, outcome
    lines = outcome.out.splitlines()
    assert len(lines) == 1 and outcome.out.endswith("\n")
    record = json.loads(lines[0])
    assert {"output", "size", "seconds", "device", "precision", "losses"} <= record.keys()
    assert record["output"] == str(inputs.out)
    with Image.open(record["output"]) as im:
        assert list(im.size) == record["size"] == list(expected_size(inputs.content))
    assert record["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    assert record["precision"] in ("fp32", "bf16")
    assert record["seconds"] > 0
    assert math.isfinite(record["losses"]["total"])
    assert outcome.err == ""


def test_sidecar_and_png_text_hold_the_settings(inputs: Inputs, capsys: pytest.CaptureFixture[str]) -> None:
    given = {"size": LONG_SIDE, "steps": 2, "quality": "draft", "style_weight": 2.5, "seed": 7}
    extra = ["--style-weight", "2.5", "--seed", "7", "--style-layers", "relu1_1", "relu3_1", "--sidecar"]
    outcome = run_cli(capsys, *inputs.argv(*extra))
    assert outcome.status == 0, outcome
    expected = expected_settings(**given, style_layers=("relu1_1", "relu3_1"))

    sidecar = Path(f"{inputs.out}.json")
    assert sidecar.is_file()
    record = json.loads(sidecar.read_text())
    assert record["settings"] == expected
    assert record["size"] == list(expected_size(inputs.content))

    with Image.open(inputs.out) as im:
        embedded = json.loads(im.text["brushwork"])
    assert embedded["settings"] == expected


def test_save_every_writes_intermediates_next_to_the_output(
    inputs: Inputs, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = run_cli(capsys, *inputs.argv("--save-every", "1"))
    assert outcome.status == 0, outcome
    intermediates = sorted(inputs.folder.glob("out.step*.png"))
    assert [p.name for p in intermediates] == [f"out.step{n:05d}.png" for n in range(1, 3)]
    for path in intermediates:
        with Image.open(path) as im:
            assert im.size == expected_size(inputs.content)
    assert inputs.out.is_file()


def test_bit_depth_16_png(inputs: Inputs, capsys: pytest.CaptureFixture[str]) -> None:
    outcome = run_cli(capsys, *inputs.argv("--bit-depth", "16"))
    assert outcome.status == 0, outcome
    assert png_bit_depth(inputs.out) == 16
    picture = read_image(inputs.out)
    assert picture.bits == 16
    assert picture.size == expected_size(inputs.content)


@pytest.mark.parametrize(("suffix", "fmt"), [(".jpg", "JPEG"), (".webp", "WEBP")])
def test_other_formats(suffix: str, fmt: str, inputs: Inputs, capsys: pytest.CaptureFixture[str]) -> None:
    out = inputs.folder / f"out{suffix}"
    outcome = run_cli(capsys, *inputs.argv(out=out))
    assert outcome.status == 0, outcome
    with Image.open(out) as im:
        assert im.format == fmt
        assert im.size == expected_size(inputs.content)


def test_quiet_prints_nothing(inputs: Inputs, capsys: pytest.CaptureFixture[str]) -> None:
    outcome = run_cli(capsys, *inputs.argv("--quiet"))
    assert outcome == Outcome(0, "", "")
    assert inputs.out.is_file()


# ----------------------------------------------------------------------------- on an interactive terminal


class TerminalIO(io.StringIO):
    """A stderr that says it is a terminal, so that the progress bar is drawn."""

    def isatty(self) -> bool:
        return True


def on_screen(written: str) -> list[str]:
    """The non-empty lines a terminal would show: each carriage return redraws its line."""
    lines = (line.rsplit("\r", 1)[-1].strip() for line in written.split("\n"))
    return [line for line in lines if line]


def run_on_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: object
) -> tuple[int, list[str]]:
    terminal = TerminalIO()
    monkeypatch.setattr(sys, "stderr", terminal)
    outcome = run_cli(capsys, *argv)
    monkeypatch.undo()
    assert outcome.out == ""
    return outcome.status, on_screen(terminal.getvalue())


def test_terminal_shows_progress_then_the_result(
    inputs: Inputs, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, screen = run_on_terminal(monkeypatch, capsys, *inputs.argv())
    assert status == 0
    assert len(screen) == 2, screen
    assert "100%" in screen[0] and "2/2" in screen[0]
    assert screen[1].startswith(f"wrote {inputs.out}")


def test_terminal_shows_scale_and_tile(
    inputs: Inputs, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = TerminalIO()
    monkeypatch.setattr(sys, "stderr", terminal)
    outcome = run_cli(capsys, *inputs.argv("--size", "160", "--steps", "1", "--tile-size", "64"))
    monkeypatch.undo()
    assert outcome.status == 0
    written = terminal.getvalue()
    assert "scale 1/1 160x120 tile 1/6" in written and "tile 6/6" in written
    assert inputs.out.is_file()


def test_terminal_quiet_shows_nothing(
    inputs: Inputs, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_on_terminal(monkeypatch, capsys, *inputs.argv("--quiet")) == (0, [])
    assert inputs.out.is_file()


def test_terminal_error_is_one_line(
    inputs: Inputs, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = inputs.folder / "no_such_photo.jpg"
    status, screen = run_on_terminal(monkeypatch, capsys, missing, inputs.style, "-o", inputs.out, *TINY)
    assert status == 2
    assert len(screen) == 1, screen
    assert screen[0].startswith("brushwork: error: ") and "no_such_photo.jpg" in screen[0]


# ------------------------------------------------------------------------------------ info, version, help


def test_info(capsys: pytest.CaptureFixture[str]) -> None:
    outcome = run_cli(capsys, "info")
    assert outcome.status == 0, outcome
    rows = dict(line.split(None, 1) for line in outcome.out.splitlines() if " " in line)
    assert rows["brushwork"].strip() == brushwork.__version__
    assert str(find_weights().path) in rows["weights"]
    assert "Traceback" not in outcome.err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "--version") == Outcome(0, f"brushwork {brushwork.__version__}\n", "")


def test_help_shows_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    outcome = run_cli(capsys, "stylize", "--help")
    assert outcome.status == 0
    options = outcome.out.split("transfer settings:", 1)[1]
    entry = options.split("\n  --size SIZE", 1)[1].split("\n  -", 1)[0]  # up to the next option
    size_help = " ".join(entry.split())  # undo line wrapping
    assert size_help.startswith("long side")
    assert size_help.endswith("(default: 512)")


# ------------------------------------------------------------------------------------- real processes


def console_script() -> str:
    script = Path(sys.executable).with_name("brushwork")
    found = str(script) if script.is_file() else shutil.which("brushwork")
    if found is None:
        pytest.skip("the brushwork console script is not installed")
    return found


def run_process(command: list[object], cwd: Path) -> Outcome:
    env = {k: v for k, v in os.environ.items() if k != "BRUSHWORK_DEBUG"}
    env["OMP_NUM_THREADS"] = "1"  # as one_torch_thread does in-process
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


@pytest.mark.parametrize(
    ("launcher", "extra", "mentions"),
    [
        ("module", ["--size", "0"], ["size"]),
        ("script", ["--size", "big"], ["--size", "big"]),
    ],
    ids=["python -m, bad setting", "console script, usage error"],
)
def test_process_user_error(launcher: str, extra: list[str], mentions: list[str], inputs: Inputs) -> None:
    command = [sys.executable, "-m", "brushwork"] if launcher == "module" else [console_script()]
    before = files_under(inputs.folder)
    outcome = run_process([*command, *inputs.argv(*extra)], inputs.folder)
    assert_one_line_error(outcome, 2, *mentions)
    assert files_under(inputs.folder) == before


def test_process_missing_file(inputs: Inputs) -> None:
    argv = [inputs.folder / "no_such_photo.jpg", inputs.style, "-o", inputs.out, *TINY]
    outcome = run_process([sys.executable, "-m", "brushwork", *argv], inputs.folder)
    assert_one_line_error(outcome, 2, "no_such_photo.jpg")
    assert not inputs.out.exists()


def test_process_good_run(inputs: Inputs) -> None:
    outcome = run_process([console_script(), *inputs.argv()], inputs.folder)
    assert outcome.status == 0, outcome
    with Image.open(inputs.out) as im:
        assert im.size == expected_size(inputs.content)
    assert outcome.err.startswith(f"wrote {inputs.out}") and len(outcome.err.splitlines()) == 1
