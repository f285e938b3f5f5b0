"""``brushwork batch`` throughput: items per minute for N photos at 512 px, with the fast method and
with the draft preset, on the local engine (1 and 2 workers) and on a local Ray instance, against a
plain loop of ``stylize()`` calls in one process.

    python benchmarks/bench_batch.py         # 16 photos fast, 4 draft; writes results/batch.json
    python benchmarks/bench_batch.py --photos 32 --draft-photos 0 --runs ray

Every run is a fresh process (the loop as ``python -c``, the batches as ``brushwork batch``) into a
fresh output folder, timed from start to exit, so each includes its own start-up: importing torch,
loading the networks, starting workers or Ray. "overhead / item" is (batch seconds − loop seconds) / N:
what the batch machinery costs per item on top of the same work done by hand. The plain loop and the
one-worker pool use every core in one process; two workers get half the cores each. The photos are the
shared content images, repeated under new names up to N; the style is starry_night.jpg.
The Ray row starts a private Ray instance inside a network namespace with only loopback (Ray probes a
public address to pick its node address); it needs the ray extra, root, unshare and ip, and is
skipped otherwise.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import IMAGES, load, machine, table, write_json

STYLE = IMAGES / "style" / "starry_night.jpg"
PRESETS: dict[str, list[str]] = {
    "fast": ["--method", "fast"],
    "draft": ["--method", "optimize", "--quality", "draft"],
}
RUNS = ("loop", "local-1", "local-2", "ray")
# Ray probes a public address to pick its node address: its row runs in a network namespace with only
# loopback (root, util-linux, iproute2), so no traffic can leave the machine.
PRIVATE_NETWORK = ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]

LOOP = """
import sys, time
from pathlib import Path
import brushwork
from brushwork.config import Settings
photos, out, size, preset = [Path(p) for p in sys.argv[1:3]] + sys.argv[3:5]
settings = Settings(method="fast", size=int(size)) if preset == "fast" else Settings(
    method="optimize", quality="draft", size=int(size))
for photo in sorted(photos.iterdir()):
    result = brushwork.stylize(photo, sys.argv[5], settings=settings)
    result.save(out / f"{photo.stem}.png")
"""


def make_photos(folder: Path, count: int) -> Path:
    """``count`` photos: the shared content images, repeated under new names."""
    sources = sorted(p for p in (IMAGES / "content").iterdir() if p.suffix.lower() in (".jpg", ".png"))
    folder.mkdir(parents=True)
    for index in range(count):
        source = sources[index % len(sources)]
        shutil.copy(source, folder / f"{index:04d}_{source.stem}{source.suffix}")
    return folder


def timed(command: list[str]) -> tuple[float, dict[str, Any] | None]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(command[:4])} ... failed ({done.returncode}): {done.stderr.strip()[-500:]}"
        )
    summary = json.loads(done.stdout) if done.stdout.strip().startswith("{") else None
    return seconds, summary


def run(kind: str, preset: str, photos: Path, work: Path, size: int) -> dict[str, Any]:
    out = work / f"{preset}-{kind}"
    out.mkdir()
    if kind == "loop":
        command = [sys.executable, "-c", LOOP, str(photos), str(out), str(size), preset, str(STYLE)]
    else:
        command = [sys.executable, "-m", "brushwork", "batch", str(photos), "--styles", str(STYLE)]
        command += ["-o", str(out), "--size", str(size), *PRESETS[preset], "--json", "--quiet"]
        cores = os.cpu_count() or 1
        if kind == "local-1":
            command += ["--jobs", "1", "--threads", str(cores)]
        elif kind == "local-2":
            command += ["--jobs", "2", "--threads", str(max(1, cores // 2))]
        else:
            command += ["--engine", "ray", "--threads", str(max(1, cores // 2))]
            command = PRIVATE_NETWORK + command
    seconds, summary = timed(command)
    item_seconds = [e["seconds"] for e in _ledger(out) if e.get("status") == "done"]
    median = statistics.median(item_seconds) if item_seconds else None
    return {"kind": kind, "preset": preset, "seconds": seconds, "item_seconds": median, "summary": summary}


def _ledger(out: Path) -> list[dict[str, Any]]:
    path = out / "_brushwork" / "ledger.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--photos", type=int, default=16, help="photos for the fast method")
    parser.add_argument("--draft-photos", type=int, default=4, help="photos for the draft preset (0: skip)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--runs", nargs="+", choices=RUNS, default=list(RUNS))
    args = parser.parse_args()
    runs = list(args.runs)
    if "ray" in runs and importlib.util.find_spec("ray") is None:
        print("ray is not installed: skipping the Ray row (pip install 'brushwork[ray]')", file=sys.stderr)
        runs.remove("ray")
    if "ray" in runs and (os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip")):
        print("the Ray row needs root, unshare and ip (a loopback-only namespace): skipped", file=sys.stderr)
        runs.remove("ray")
    if "loop" in runs:  # the baseline first
        runs.remove("loop")
        runs.insert(0, "loop")

    results: list[dict[str, Any]] = []
    load_before = load()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as temp:
        work = Path(temp)
        for preset, count in (("fast", args.photos), ("draft", args.draft_photos)):
            if count <= 0:
                continue
            photos = make_photos(work / f"photos-{preset}", count)
            for kind in runs:
                print(f"{preset} × {count} photos, {kind} ...", file=sys.stderr, flush=True)
                result = run(kind, preset, photos, work, args.size)
                result["photos"] = count
                results.append(result)

    data = {"machine": machine(), "size": args.size, "load": load_before, "results": results}
    write_json("batch", data)
    print(section(data))


def section(data: dict[str, Any]) -> str:
    """One row per preset and run: seconds, items a minute, and the batch machinery's cost per item."""
    results = data["results"]
    rows = []
    for result in results:
        count, seconds = result["photos"], result["seconds"]
        loop = next(
            (r["seconds"] for r in results if r["preset"] == result["preset"] and r["kind"] == "loop"), None
        )
        overhead = "" if loop is None or result["kind"] == "loop" else f"{(seconds - loop) / count:+.2f}"
        rows.append(
            [
                result["preset"],
                result["kind"],
                str(count),
                f"{seconds:.1f}",
                f"{60 * count / seconds:.1f}",
                overhead,
                "" if result["item_seconds"] is None else f"{result['item_seconds']:.2f}",
            ]
        )
    header = ["preset", "run", "photos", "seconds", "items / min", "overhead / item (s)", "item s"]
    return f"{data['size']} px.\n\n" + table(header, rows)


if __name__ == "__main__":
    main()
