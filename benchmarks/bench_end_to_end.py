"""A whole ``brushwork.stylize`` run at 512 px, end to end, each preset in a fresh process.

Wall time is measured by the parent around the child process, so it includes the interpreter, the
imports, reading the weights and images, the optimization and writing the picture. Peak RSS is the
child's own ``ru_maxrss``. The pictures are saved under benchmarks/results/.

    python benchmarks/bench_end_to_end.py [--presets default draft] [--size 512]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

from _common import CONTENT, RESULTS, STYLE, load, machine, table, write_json

MARKER = "RESULT "


def child(quality: str, size: int) -> None:
    """Runs in the fresh process: one stylize() call, then a JSON line on stdout."""
    started = time.perf_counter()
    import resource

    import brushwork

    imported = time.perf_counter()
    if quality == "default":
        result = brushwork.stylize(CONTENT, STYLE, size=size, seed=0)
    else:
        result = brushwork.stylize(CONTENT, STYLE, size=size, seed=0, quality=quality)
    stylized = time.perf_counter()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"end_to_end_{quality}_{size}.png"
    result.save(out)
    saved = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    record = {
        "preset": quality,
        "quality": result.settings.quality,
        "size": list(result.size),
        "scales": [list(s) for s in result.scales],
        "precision": result.precision,
        "evaluations": len(result.history),
        "losses": result.losses,
        "history": result.history,
        "import_s": imported - started,
        "stylize_s": stylized - imported,
        "save_s": saved - stylized,
        "timings": result.timings,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mib": usage.ru_maxrss / 1024,  # kibibytes on Linux
        "output": str(out.relative_to(RESULTS.parent.parent)),
    }
    print(MARKER + json.dumps(record), flush=True)


def run_one(quality: str, size: int) -> dict[str, Any]:
    before = load()
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, __file__, "--child", quality, "--size", str(size)],
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    lines = [line for line in completed.stdout.splitlines() if line.startswith(MARKER)]
    if not lines:
        raise RuntimeError(f"the child printed no result; stderr:\n{completed.stderr}")
    record: dict[str, Any] = json.loads(lines[-1].removeprefix(MARKER))
    record.update(wall_s=wall, load_before=before, load_after=load())
    return record


def render(data: dict[str, Any]) -> str:
    rows = []
    for run in data["runs"]:
        timings = run["timings"]
        outside = run["wall_s"] - timings["total"]
        scales = " -> ".join(f"{w}x{h}" for w, h in run["scales"])
        rows.append(
            [
                run["preset"] if run["preset"] == run["quality"] else f"{run['preset']} ({run['quality']})",
                f"{run['size'][0]}x{run['size'][1]}",
                scales,
                str(run["evaluations"]),
                f"{run['wall_s']:.1f}",
                f"{outside:.1f} / {timings['prepare']:.1f} / {timings['optimize']:.1f}",
                f"{run['cpu_s']:.0f}",
                f"{run['peak_rss_mib']:.0f}",
                f"{max(run['load_before'][0], run['load_after'][0]):.1f}",
                run["output"],
            ]
        )
    header = [
        "preset",
        "output",
        "scales",
        "evaluations",
        "wall s (end to end)",
        "outside stylize() / prepare / optimize s",
        "CPU s",
        "peak RSS MiB",
        "load avg",
        "picture",
    ]
    return table(header, rows)


def section(data: dict[str, Any]) -> str:
    """BENCHMARKS.md's table."""
    return render(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+", default=["draft", "normal", "high"])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--child", metavar="PRESET", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.size)
        return
    runs = []
    for quality in args.presets:
        print(f"{quality} at {args.size} px ...", flush=True)
        runs.append(run_one(quality, args.size))
        print(f"  {runs[-1]['wall_s']:.1f} s, peak RSS {runs[-1]['peak_rss_mib']:.0f} MiB", flush=True)
    data = {"machine": machine(), "content": str(CONTENT), "style": str(STYLE), "runs": runs}
    path = write_json("end_to_end", data)
    print(render(data))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
