"""The fast engine from a fresh process: the whole command, and its first picture, with and without the
weight cache.

    python benchmarks/bench_cold.py                  # 5 runs of each; writes results/cold.json
    python benchmarks/bench_cold.py --runs 3 --size 1024
    git archive REV src | tar -x -C /tmp/old          # an older commit's source, for a before/after:
    python benchmarks/bench_cold.py --src /tmp/old/src --name cold-old

Each run is the real command, ``python -m brushwork PHOTO STYLE --method fast --size SIZE -o OUT
--json``, in a new process. "Empty cache" runs get a new, empty ``BRUSHWORK_CACHE_DIR`` (so the
process reads the ONNX graphs, importing onnx, and writes the cache); "warm cache" runs share one the
untimed warm-up run filled. The two alternate, so that a change in the machine's load touches both.
Reported per run: the command's wall time (process start to exit, as the shell sees it) and the
``seconds`` of its JSON record, which is the time inside ``stylize()`` for the process's first (and
only) picture: reading and resizing the photo, loading the networks, reading the painting, painting.
The rest (start-up and imports, argument checks, writing the PNG, exit) is the difference.
Photo: taj_mahal.jpg (2468 × 1714) from the shared images, else examples/tubingen.jpg; painting:
examples/starry_night.jpg. Threads: torch's default (one per core) unless ``--threads`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import IMAGES, ROOT, load, machine, median, read_json, table, write_json

CONDITIONS = ("empty cache", "warm cache")


def default_photo() -> Path:
    shared = IMAGES / "content" / "taj_mahal.jpg"
    return shared if shared.is_file() else ROOT / "examples" / "tubingen.jpg"


def run_once(
    photo: Path, style: Path, size: int, cache: Path, out: Path, env: dict[str, str]
) -> dict[str, float]:
    """One fresh process of the real command: its wall time and its record's stylize() seconds."""
    command = [sys.executable, "-m", "brushwork", str(photo), str(style), "--method", "fast",
               "--size", str(size), "-o", str(out), "--json"]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(
        command, capture_output=True, text=True, env={**env, "BRUSHWORK_CACHE_DIR": str(cache)}
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the command failed ({done.returncode}): {done.stderr.strip()}")
    record = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall": wall, "stylize": float(record["seconds"]), "outside": wall - float(record["seconds"])}


def summary(values: list[float]) -> dict[str, float]:
    return {"median": median(values), "min": min(values), "max": max(values)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per condition")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--photo", type=Path, default=default_photo())
    parser.add_argument("--style", type=Path, default=ROOT / "examples" / "starry_night.jpg")
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS for the runs (default: torch's own)")
    parser.add_argument(
        "--src", type=Path, help="run the brushwork in this source folder instead (e.g. an older commit's)"
    )
    parser.add_argument("--name", default="cold", help="results/NAME.json (default: cold)")
    args = parser.parse_args()

    env = dict(os.environ)
    env.pop("BRUSHWORK_DEBUG", None)
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    if args.src:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(args.src.resolve()), env.get("PYTHONPATH")]))
    info = machine()
    load_start = load()
    runs: dict[str, list[dict[str, float]]] = {condition: [] for condition in CONDITIONS}
    with tempfile.TemporaryDirectory(prefix="bench_cold.") as folder:
        base = Path(folder)
        out = base / "out.png"
        warm = base / "warm-cache"
        run_once(args.photo, args.style, args.size, warm, out, env)  # fills the cache and the OS's file cache
        for index in range(args.runs):
            for condition in CONDITIONS:
                cache = warm if condition == "warm cache" else base / f"empty-{index}"
                result = run_once(args.photo, args.style, args.size, cache, out, env)
                runs[condition].append(result)
                print(f"{condition:<12} run {index + 1}: command {result['wall']:.2f} s, "
                      f"first stylize() {result['stylize']:.3f} s", flush=True)  # fmt: skip
    results: dict[str, Any] = {
        condition: {key: summary([r[key] for r in rows]) for key in ("wall", "stylize", "outside")}
        for condition, rows in runs.items()
    }
    write_json(
        args.name,
        {
            "machine": info,
            "src": str(args.src or ROOT / "src"),
            "threads": args.threads or "default",
            "bytecode_written": not os.environ.get("PYTHONDONTWRITEBYTECODE"),
            "photo": str(args.photo),
            "style": str(args.style),
            "size": args.size,
            "load_start": load_start,
            "load_end": load(),
            "runs": runs,
            "results": results,
        },
    )
    print(section(read_json(args.name)))


def section(data: dict[str, Any]) -> str:
    """The command's time and its first picture's, with an empty and a warm weight cache."""

    def cell(values: dict[str, float], digits: int) -> str:
        return f"{values['median']:.{digits}f} ({values['min']:.{digits}f}–{values['max']:.{digits}f})"

    rows = [
        [condition, str(len(data["runs"][condition])), cell(r["wall"], 2), cell(r["stylize"], 3),
         cell(r["outside"], 2)]
        for condition, r in data["results"].items()
    ]  # fmt: skip
    header = [f"fast, {data['size']} px", "runs", "command s, median (min–max)", "first stylize() s",
              "rest of the command s"]  # fmt: skip
    threads = data["threads"]
    return (
        f"Photo {Path(data['photo']).name}, painting {Path(data['style']).name}; torch threads: "
        f"{threads}.\n\n" + table(header, rows)
    )


if __name__ == "__main__":
    main()
