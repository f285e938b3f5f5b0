"""``brushwork batch`` with the local engine: outputs, the ledger, resuming, pairing, and recovery from
a worker or a driver killed mid-run. Items are 1-step optimizations at 32 px (96 px where a worker must
be caught in the middle of one)."""

from __future__ import annotations

import csv
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batchkit import (
    DATA,
    SECOND_STYLE,
    SLOW,
    SLOW_FLAGS,
    STYLE,
    TINY,
    TINY_FLAGS,
    attempts,
    copy_images,
    ledger,
    mixed_folder,
    outputs,
    stray_files,
)
from brushwork.batch import BatchEvent, BatchOptions, run_batch
from brushwork.batch import items as plan
from brushwork.batch.keys import with_keys
from brushwork.batch.ledger import read_history
from brushwork.batch.local import plan_pool
from brushwork.batch.manifest import read_manifest
from brushwork.cli import main
from brushwork.config import Settings
from brushwork.errors import UserInputError
from ci import require

ONE_WORKER = ["--jobs", "1", "--threads", "1"]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    try:
        status = main([str(a) for a in argv])
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else 1
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# ------------------------------------------------------------------------------------- a whole batch


def test_mixed_folder_gives_every_good_output_and_records_each_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = mixed_folder(tmp_path)
    out = tmp_path / "out"
    status, stdout, stderr = run_cli(
        capsys, "batch", photos, "--styles", STYLE, "-o", out, *TINY_FLAGS, *ONE_WORKER, "--json"
    )
    assert status == 3, stderr
    made = outputs(out)
    # The output tree mirrors the input tree; each output carries its item's key.
    assert set(made) == {"tubingen__starry_night.png", "trip/lion__starry_night.png"}
    assert all(key is not None and len(key) == 64 for key in made.values())
    summary = json.loads(stdout)
    assert (summary["items"], summary["done"], summary["failed"], summary["ignored"]) == (3, 2, 1, 1)
    # One summary line; the failure named with its reason.
    assert "3 items: 2 done, 1 failed" in stderr.splitlines()[-1]
    assert "trip/broken__starry_night.png: ImageReadError" in stderr

    entries = ledger(out)
    ignored = [e for e in entries if e["status"] == "ignored"]
    assert [Path(e["input"]).name for e in ignored] == ["notes.txt"]
    broken = [e for e in entries if e.get("item") == "trip/broken__starry_night.png"]
    # A user's mistake is not retried: one attempt, failed, with its error type and one-line message.
    assert len(broken) == 1 and broken[0]["status"] == "failed"
    assert broken[0]["error_type"] == "ImageReadError" and "\n" not in broken[0]["message"]
    for entry in attempts(out):
        assert {"item", "key", "status", "seconds", "error_type", "message", "host"} <= set(entry)
    done = {e["item"]: e["key"] for e in entries if e["status"] == "done"}
    assert done == made

    # failed.csv is a manifest of the failed item, with its output name and settings.
    with (out / "_brushwork" / "failed.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1
    assert Path(rows[0]["content"]) == (photos / "trip" / "broken.jpg").resolve()
    assert rows[0]["output"] == "trip/broken__starry_night.png"
    assert json.loads(rows[0]["settings"]) == {"method": "fast", "size": 32}
    sources = read_manifest(out / "_brushwork" / "failed.csv")
    assert [s.path.resolve() for s in sources] == [(photos / "trip" / "broken.jpg").resolve()]
    assert sources[0].styles == (STYLE.resolve(),)
    assert stray_files(out) == []

    # Rerunning does no work: nothing attempted, no output rewritten, the earlier failure still reported.
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    before = len(ledger(out))
    status, stdout, _ = run_cli(
        capsys, "batch", photos, "--styles", STYLE, "-o", out, *TINY_FLAGS, *ONE_WORKER, "--json"
    )
    again = json.loads(stdout)
    assert status == 3
    assert (again["done"], again["skipped"], again["failed"], again["processed"]) == (0, 2, 1, 0)
    assert len(ledger(out)) == before
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.png")} == stamps

    # --retry-failed tries the failed item again, and only it.
    status, stdout, _ = run_cli(
        capsys, "batch", photos, "--styles", STYLE, "-o", out, *TINY_FLAGS, *ONE_WORKER, "--retry-failed"
    )
    assert status == 3
    new = ledger(out)[before:]
    expected = [(broken[0]["item"], broken[0]["key"])]
    assert [(e["item"], e["key"]) for e in new] == expected
    # So does failed.csv given as the input, with no other option: it names the same item, same key.
    failed_csv = out / "_brushwork" / "failed.csv"
    status, _, _ = run_cli(capsys, "batch", failed_csv, "-o", out, *ONE_WORKER, "--retry-failed")
    assert status == 3
    assert [(e["item"], e["key"]) for e in ledger(out)[before + 1 :]] == expected


def test_changing_a_setting_redoes_exactly_the_affected_items(tmp_path: Path) -> None:
    photos = copy_images(tmp_path / "in", ["tubingen.jpg", "lion.jpg", "face.jpg"])
    manifest = tmp_path / "list.csv"

    def write_manifest(lion_strength: float) -> None:
        rows = [
            {"content": "in/tubingen.jpg", "style": str(STYLE), "strength": ""},
            {"content": "in/lion.jpg", "style": str(STYLE), "strength": str(lion_strength)},
            {"content": "in/face.jpg", "style": f"{STYLE};{SECOND_STYLE}", "strength": ""},
        ]
        with manifest.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["content", "style", "strength"])
            writer.writeheader()
            writer.writerows(rows)

    out = tmp_path / "out"
    options = BatchOptions(jobs=1, threads=1)
    write_manifest(0.3)
    first = run_batch([manifest], [], out, settings=TINY, options=options)
    assert (first.done, first.failed, first.exit_status) == (3, 0, 0)
    names = set(outputs(out))
    # Paths relative to the manifest's folder; several styles in a row make one item with a blend.
    assert names == {
        "in/tubingen__starry_night.png",
        "in/lion__starry_night.png",
        "in/face__starry_night+the_scream.png",
    }
    keys = outputs(out)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}

    write_manifest(0.8)
    second = run_batch([manifest], [], out, settings=TINY, options=options)
    assert (second.done, second.skipped) == (1, 2)
    redone = [e["item"] for e in attempts(out)][3:]
    assert redone == ["in/lion__starry_night.png"]
    changed = {p.relative_to(out).as_posix() for p in stamps if p.stat().st_mtime_ns != stamps[p]}
    assert changed == {"in/lion__starry_night.png"}
    assert outputs(out)["in/lion__starry_night.png"] != keys["in/lion__starry_night.png"]

    # A setting every item shares (here the size, from the command) changes every key.
    third = run_batch([manifest], [], out, settings=TINY.replace(size=40), options=options)
    assert (third.done, third.skipped) == (3, 0)
    assert photos  # the inputs themselves are untouched by all of this
    assert all(p.read_bytes() == (DATA / p.name).read_bytes() for p in photos)


def test_random_pairing_is_the_same_with_one_and_two_workers_and_any_input_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = ["tubingen.jpg", "lion.jpg", "face.jpg", "golden_gate.jpg", "sailboat.jpg", "taj_mahal.jpg"]
    photos = copy_images(tmp_path / "in", names)
    styles = [DATA / "starry_night.jpg", DATA / "the_scream.jpg", DATA / "mondrian.jpg"]
    status, stdout, _ = run_cli(
        capsys, "batch", tmp_path / "in", "--styles", *styles, "-o", tmp_path / "one", *TINY_FLAGS,
        "--pair", "random", "--seed", 7, *ONE_WORKER, "--json",
    )  # fmt: skip
    assert status == 0
    one = json.loads(stdout)
    two = run_batch(
        list(reversed(photos)), list(reversed(styles)), tmp_path / "two", settings=TINY,
        options=BatchOptions(pair="random", seed=7, jobs=2, threads=1),
    )  # fmt: skip
    assert one["done"] == two.done == len(names)
    assert two.workers == 2
    assert set(outputs(tmp_path / "one")) == set(outputs(tmp_path / "two"))
    drawn = {name.split("__")[1] for name in outputs(tmp_path / "one")}
    assert len(drawn) > 1  # a draw, not one style for all
    # Another seed draws differently (so the seed, not the order, decides).
    other = {
        source.name: chosen[0].name
        for source, chosen in plan.pair(
            plan.discover([tmp_path / "in"]).sources, styles, mode="random", seed=8
        )
    }
    assert other != {n.split("__")[0] + ".jpg": n.split("__")[1] for n in outputs(tmp_path / "one")}


# ------------------------------------------------------------------------------------- killed processes


@pytest.mark.slow
def test_a_worker_killed_mid_item_is_replaced_and_its_item_retried(tmp_path: Path) -> None:
    copy_images(tmp_path / "in", ["tubingen.jpg", "lion.jpg", "face.jpg"])
    out = tmp_path / "out"
    killed: list[tuple[str, int]] = []

    def kill_first(event: BatchEvent) -> None:
        if event.kind == "started" and not killed and event.pid is not None and event.item is not None:
            time.sleep(0.1)  # into the item
            os.kill(event.pid, signal.SIGKILL)
            killed.append((event.item, event.pid))

    summary = run_batch(
        [tmp_path / "in"], [STYLE], out, settings=SLOW,
        options=BatchOptions(jobs=1, threads=1), on_event=kill_first,
    )  # fmt: skip
    assert killed
    victim, pid = killed[0]
    assert (summary.done, summary.failed, summary.retries, summary.exit_status) == (3, 0, 1, 0)
    entries = attempts(out)
    tries = [e for e in entries if e["item"] == victim]
    assert [(e["status"], e["attempt"]) for e in tries] == [("retrying", 1), ("done", 2)]
    assert tries[0]["error_type"] == "WorkerDied" and str(pid) in tries[0]["message"]
    assert tries[1]["pid"] != pid  # done by the replacement
    # Nothing lost, nothing done twice, nothing half-written.
    done = [e["item"] for e in entries if e["status"] == "done"]
    assert sorted(done) == sorted(set(done)) == sorted(outputs(out))
    assert len(done) == 3 and all(outputs(out).values())
    assert stray_files(out) == []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


@pytest.mark.slow
def test_a_killed_driver_leaves_a_batch_that_a_rerun_completes_without_redoing_work(tmp_path: Path) -> None:
    copy_images(tmp_path / "in", ["tubingen.jpg", "lion.jpg", "face.jpg", "golden_gate.jpg"])
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "brushwork", "batch", str(tmp_path / "in"), "--styles", str(STYLE)]
    argv += ["-o", str(out), *SLOW_FLAGS, *ONE_WORKER, "--quiet"]
    driver = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while sum(e["status"] == "done" for e in attempts(out)) < 2:
            assert driver.poll() is None, driver.stderr.read() if driver.stderr else ""
            assert time.monotonic() < deadline, "the driver made no progress"
            time.sleep(0.05)
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    first = attempts(out)
    finished = {e["item"] for e in first if e["status"] == "done"}
    assert 2 <= len(finished) < 4
    # The orphaned worker stops by itself.
    workers = {e["pid"] for e in first}
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)

    summary = run_batch(
        [tmp_path / "in"], [STYLE], out, settings=SLOW, options=BatchOptions(jobs=1, threads=1)
    )
    assert summary.exit_status == 0 and summary.failed == 0
    assert summary.skipped >= len(finished)
    second = attempts(out)[len(first) :]
    assert {e["item"] for e in second}.isdisjoint(finished)
    assert len(outputs(out)) == 4 and all(outputs(out).values())
    assert stray_files(out) == []


# ---------------------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("make", "mention"),
    [
        (lambda tmp: ["batch", tmp / "nowhere", "--styles", STYLE, "-o", tmp / "out"], "does not exist"),
        (lambda tmp: ["batch", DATA / "lion.jpg", "--styles", tmp / "no.jpg", "-o", tmp / "out"], "no.jpg"),
        (lambda tmp: ["batch", DATA / "lion.jpg", "-o", tmp / "out"], "no style given"),
        (lambda tmp: ["batch", DATA / "lion.jpg", "--styles", STYLE, "-o", tmp / "out", "--jobs", "0"],
         "jobs"),
        (
            lambda tmp: ["batch", DATA / "lion.jpg", "--styles", STYLE, "-o", tmp / "out", "--format", "jpg",
                         "--bit-depth", "16"],
            "bit-depth 16",
        ),
    ],
)  # fmt: skip
def test_bad_arguments_exit_2_with_one_line_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, mention: str
) -> None:
    argv = make(tmp_path)  # type: ignore[operator]
    status, stdout, stderr = run_cli(capsys, *argv)
    assert status == 2 and stdout == ""
    assert len(stderr.splitlines()) == 1 and mention in stderr and "Traceback" not in stderr
    assert not (tmp_path / "out").exists()


def test_inputs_without_images_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "clip.mp4").write_bytes(b"\0" * 64)
    monkeypatch.setattr(plan, "video_supported", lambda: False)
    with pytest.raises(UserInputError, match=r"no images or videos found in the inputs \(1 other files"):
        run_batch([tmp_path / "in"], [STYLE], tmp_path / "out", settings=TINY)
    assert not (tmp_path / "out").exists()


def test_a_broken_style_is_refused_before_any_work(tmp_path: Path) -> None:
    broken = tmp_path / "style.jpg"
    broken.write_bytes(STYLE.read_bytes()[:300])
    with pytest.raises(UserInputError, match=r"style\.jpg"):
        run_batch([DATA / "lion.jpg"], [broken], tmp_path / "out", settings=TINY)
    assert not (tmp_path / "out").exists()


def test_two_items_writing_one_file_are_refused(tmp_path: Path) -> None:
    copy_images(tmp_path / "a", ["lion.jpg"])
    copy_images(tmp_path / "b", ["lion.jpg"])
    with pytest.raises(UserInputError, match=r"two items would write 'lion__starry_night\.png'"):
        run_batch([tmp_path / "a", tmp_path / "b"], [STYLE], tmp_path / "out", settings=TINY)


def test_an_output_that_would_overwrite_an_input_is_refused(tmp_path: Path) -> None:
    copy_images(tmp_path, ["lion.jpg"])
    manifest = tmp_path / "list.jsonl"
    manifest.write_text(json.dumps({"content": "lion.jpg", "style": str(STYLE), "output": "lion.jpg"}) + "\n")
    with pytest.raises(UserInputError, match="is also an input"):
        run_batch([manifest], [], tmp_path, settings=TINY)
    # The same file under another name (a hard link in the output folder) is refused too.
    (tmp_path / "out").mkdir()
    os.link(tmp_path / "lion.jpg", tmp_path / "out" / "leo.jpg")
    manifest.write_text(json.dumps({"content": "lion.jpg", "style": str(STYLE), "output": "leo.jpg"}) + "\n")
    with pytest.raises(UserInputError, match="is also an input"):
        run_batch([manifest], [], tmp_path / "out", settings=TINY)
    assert (tmp_path / "lion.jpg").read_bytes() == (DATA / "lion.jpg").read_bytes()


def test_an_output_folder_inside_the_input_folder_is_not_read_as_input(tmp_path: Path) -> None:
    copy_images(tmp_path / "in", ["lion.jpg"])
    (tmp_path / "in" / "out").mkdir()
    (tmp_path / "in" / "out" / "old.png").write_bytes((DATA / "face.jpg").read_bytes())
    found = plan.discover([tmp_path / "in"], exclude=tmp_path / "in" / "out")
    assert [s.name for s in found.sources] == ["lion.jpg"] and found.ignored == []
    # The other way round is a mistake: everything found would be in the output folder.
    with pytest.raises(UserInputError, match="is inside the output folder"):
        plan.discover([tmp_path / "in" / "out"], exclude=tmp_path / "in")


def test_a_second_driver_on_the_same_output_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "_brushwork").mkdir(parents=True)
    with (out / "_brushwork" / "lock").open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(UserInputError, match="another brushwork batch"):
            run_batch([DATA / "lion.jpg"], [STYLE], out, settings=TINY)


def test_engine_ray_without_ray_says_how_to_install_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    status, _, stderr = run_cli(
        capsys, "batch", DATA / "lion.jpg", "--styles", STYLE, "-o", tmp_path / "out", "--engine", "ray"
    )
    assert status == 2
    assert stderr.strip() == "brushwork: error: --engine ray needs Ray: pip install 'brushwork[ray]'"


def test_a_private_ray_instance_gets_a_fresh_token_in_the_environment_and_gives_it_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require("ray", "the ray extra: pip install 'brushwork[ray]'")
    from brushwork.batch import ray_engine

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    tokens = []
    for _ in range(2):
        restore = ray_engine._private_token_env()
        assert os.environ["RAY_AUTH_MODE"] == "token"
        tokens.append(os.environ["RAY_AUTH_TOKEN"])
        restore()
        assert os.environ["RAY_AUTH_MODE"] == "disabled" and "RAY_AUTH_TOKEN" not in os.environ
    assert len(set(tokens)) == 2 and all(len(token) == 64 for token in tokens)


def test_a_ray_address_where_nothing_listens_is_refused_at_once(tmp_path: Path) -> None:
    require("ray", "the ray extra: pip install 'brushwork[ray]'")
    with socket.socket() as probe:  # a loopback port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = BatchOptions(engine="ray", address=f"127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(UserInputError, match=f"cannot reach the Ray cluster at 127.0.0.1:{port}"):
        run_batch([DATA / "lion.jpg"], [STYLE], tmp_path / "out", settings=TINY, options=options)
    assert time.monotonic() - started < 10
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------- planning, without work


def test_manifests_in_csv_and_jsonl_give_the_same_items(tmp_path: Path) -> None:
    copy_images(tmp_path / "pics", ["lion.jpg", "face.jpg"])
    (tmp_path / "list.csv").write_text(
        "content,styles,output,settings,strength\n"
        f'pics/lion.jpg,{STYLE};{SECOND_STYLE},cats/leo,"{{""size"": 40}}",0.7\n'
        "pics/face.jpg,,,,\n"
    )
    rows = [
        {"content": "pics/lion.jpg", "styles": [str(STYLE), str(SECOND_STYLE)], "output": "cats/leo",
         "settings": {"size": 40}, "strength": 0.7},
        {"content": "pics/face.jpg"},
    ]  # fmt: skip
    (tmp_path / "list.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    planned = []
    for name in ("list.csv", "list.jsonl"):
        discovery = plan.discover([tmp_path / name])
        items = plan.build_items(
            discovery,
            [DATA / "mondrian.jpg"],
            tmp_path / "out",
            settings=TINY,
            mode="all",
            seed=0,
            image_suffix=".png",
        )
        planned.append([(i.name, i.content.resolve(), i.styles, i.settings) for i in items])
    assert planned[0] == planned[1]
    first, second = planned[0]
    assert first[0] == "cats/leo.png" and first[2] == (STYLE, SECOND_STYLE)
    assert first[3] == TINY.replace(size=40, strength=0.7)
    # A row without styles is paired from --styles.
    assert second[0] == "pics/face__mondrian.png" and second[3] == TINY


@pytest.mark.parametrize(
    ("row", "mention"),
    [
        ("content,style,sise\npics/lion.jpg,{style},40\n", "unknown column 'sise'"),
        ("content,style,size\npics/lion.jpg,{style},big\n", "bad value 'big' for setting 'size'"),
        ("content,style,strength\npics/lion.jpg,{style},3\n", "strength must be between 0 and 1"),
        ("content,style,output\npics/lion.jpg,{style},../escape.png\n", "inside the output folder"),
        ("content,style\npics/missing.jpg,{style}\n", "does not exist"),
    ],
)
def test_a_bad_manifest_row_is_named(tmp_path: Path, row: str, mention: str) -> None:
    copy_images(tmp_path / "pics", ["lion.jpg"])
    (tmp_path / "list.csv").write_text(row.format(style=STYLE))
    with pytest.raises(UserInputError, match=r"list\.csv line 2") as error:
        discovery = plan.discover([tmp_path / "list.csv"])
        out = tmp_path / "out"
        plan.build_items(discovery, [], out, settings=TINY, mode="all", seed=0, image_suffix=".png")
    assert mention in str(error.value)


def test_keys_follow_content_and_settings_not_file_names(tmp_path: Path) -> None:
    copy_images(tmp_path / "a", ["lion.jpg"])
    copy_images(tmp_path / "b", ["lion.jpg"])
    (tmp_path / "b" / "lion.jpg").rename(tmp_path / "b" / "renamed.jpg")

    def key(folder: str, settings: Settings = TINY, bits: int = 8) -> str:
        items = plan.build_items(
            plan.discover([tmp_path / folder]), [STYLE], tmp_path / "out",
            settings=settings, mode="all", seed=0, image_suffix=".png",
        )  # fmt: skip
        return with_keys(items, version="1", bits=bits, weights=None)[0].key

    assert key("a") == key("b")
    assert key("a") != key("a", TINY.replace(strength=0.7))
    assert key("a") != key("a", bits=16)
    (tmp_path / "a" / "lion.jpg").write_bytes((DATA / "face.jpg").read_bytes())
    assert key("a") != key("b")

    # A mask named in the settings counts by its content too.
    mask = tmp_path / "mask.png"
    mask.write_bytes((DATA / "face_mask.png").read_bytes())
    masked = TINY.replace(mask=str(mask))
    before = key("b", masked)
    assert before != key("b")
    mask.write_bytes((DATA / "lion.jpg").read_bytes())
    assert key("b", masked) != before


def test_videos_are_ignored_with_a_reason_while_video_support_is_missing(tmp_path: Path) -> None:
    copy_images(tmp_path, ["lion.jpg"])
    (tmp_path / "clip.mp4").write_bytes(b"\0" * 64)
    found = plan.discover([tmp_path])
    assert [s.name for s in found.sources] == ["lion.jpg"]
    assert [(i.path.name, i.reason) for i in found.ignored] == [("clip.mp4", plan.NO_VIDEO)]


def test_history_takes_each_keys_last_attempt_and_survives_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    lines = [
        {"key": "k1", "status": "retrying", "error_type": "WorkerDied", "message": "gone"},
        {"key": "k1", "status": "failed", "error_type": "RuntimeError", "message": "boom"},
        {"key": "k2", "status": "done"},
        {"input": "/x/notes.txt", "status": "ignored"},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"key": "k2", "sta')
    history = read_history(path)
    assert history.last_status == {"k1": "failed", "k2": "done"}
    assert history.last_message["k1"] == "RuntimeError: boom"
    assert history.ignored == {"/x/notes.txt"}


@pytest.mark.parametrize(
    ("jobs", "threads", "cores", "gpu", "expected"),
    [
        (None, None, 16, False, (4, 4)),  # a worker per four cores
        (None, None, 2, False, (1, 2)),
        (2, None, 2, False, (2, 1)),  # the cores shared out: never more threads than cores
        (3, None, 16, False, (3, 5)),
        (None, None, 16, True, (1, 16)),  # one worker on a GPU
        (2, 3, 16, False, (2, 3)),  # as given
    ],
)
def test_the_local_pool_never_oversubscribes_the_cores(
    jobs: int | None, threads: int | None, cores: int, gpu: bool, expected: tuple[int, int]
) -> None:
    assert plan_pool(jobs, threads, cores=cores, gpu=gpu) == expected


def test_a_video_in_the_folder_is_painted_as_one_item_and_skipped_when_done(tmp_path: Path) -> None:
    av = require("av", "the video extra: pip install 'brushwork[video]'")
    require("cv2", "opencv-python-headless, a dependency of brushwork")

    from brushwork.batch.worker import read_key
    from video_clips import make_clip

    copy_images(tmp_path / "in", ["lion.jpg"])
    make_clip(tmp_path / "in" / "clip.mp4", frames=6, audio=None)
    out = tmp_path / "out"
    options = BatchOptions(jobs=1, threads=1)
    first = run_batch([tmp_path / "in"], [STYLE], out, settings=TINY, options=options)
    assert (first.done, first.failed, first.ignored) == (2, 0, 0)
    video = out / "clip__starry_night.mp4"
    with av.open(str(video)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 6 and max(frames[0].shape[:2]) == 32
    key = read_key(video)
    assert key is not None and key == next(e["key"] for e in attempts(out) if e["item"] == video.name)
    again = run_batch([tmp_path / "in"], [STYLE], out, settings=TINY, options=options)
    assert (again.done, again.skipped) == (0, 2)


def test_a_manifests_mask_and_init_paths_are_relative_to_its_folder(tmp_path: Path) -> None:
    copy_images(tmp_path / "pics", ["face.jpg"])
    (tmp_path / "masks").mkdir()
    (tmp_path / "masks" / "face.png").write_bytes((DATA / "face_mask.png").read_bytes())
    row = {"content": "pics/face.jpg", "style": str(STYLE), "mask": "masks/face.png"}
    (tmp_path / "list.jsonl").write_text(json.dumps(row) + "\n")
    (source,) = read_manifest(tmp_path / "list.jsonl")
    assert source.overrides == {"mask": str(tmp_path / "masks" / "face.png")}
    keyword = {"content": "pics/face.jpg", "style": str(STYLE), "mask": "subject", "init": "noise"}
    (tmp_path / "list.jsonl").write_text(json.dumps(keyword) + "\n")
    assert read_manifest(tmp_path / "list.jsonl")[0].overrides == {"mask": "subject", "init": "noise"}
