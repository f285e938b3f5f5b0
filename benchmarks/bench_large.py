"""Print-size outputs: wall time and peak memory of the real command line at large sizes.

    python benchmarks/bench_large.py --size 3840 --max-memory 6GB [--threads 2] [-- extra CLI flags]

Centre-crops taj_mahal.jpg to 16:9 (so that --size 3840 gives 3840 x 2160, as the issue's sizes),
runs ``python -m brushwork taj_16x9.png starry_night.jpg -o OUT --size N --bit-depth 16`` in a child
process, and records its wall time and peak resident memory (the child's own ru_maxrss) as one JSON
line in benchmarks/results/large.jsonl. The output lands in benchmarks/results/large_<N>.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "images"
RESULTS = ROOT / "benchmarks" / "results"


def crop_16x9(path: Path) -> Path:
    from PIL import Image

    cropped = RESULTS / f"{path.stem}_16x9.png"
    with Image.open(path) as image:
        width, height = image.size
        new_width = min(width, height * 16 // 9) // 16 * 16  # exactly 16:9
        new_height = new_width * 9 // 16
        left, top = (width - new_width) // 2, (height - new_height) // 2
        image.convert("RGB").crop((left, top, left + new_width, top + new_height)).save(cropped)
    return cropped


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--max-memory", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--content", type=Path, default=SHARED / "content" / "taj_mahal.jpg")
    parser.add_argument("--style", type=Path, default=SHARED / "style" / "starry_night.jpg")
    parser.add_argument("extra", nargs="*", help="more brushwork flags, after --")
    args = parser.parse_args()

    RESULTS.mkdir(parents=True, exist_ok=True)
    content = crop_16x9(args.content)
    output = RESULTS / f"large_{args.size}.png"
    command = [sys.executable, "-m", "brushwork", str(content), str(args.style), "-o", str(output)]
    command += ["--size", str(args.size), "--bit-depth", "16", "--seed", "0", "--json", "--quiet"]
    if args.max_memory:
        command += ["--max-memory", args.max_memory]
    command += args.extra
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    if done.returncode != 0:
        sys.exit(f"brushwork failed ({done.returncode}): {done.stderr.strip()}")
    record = json.loads(done.stdout.strip().splitlines()[-1])
    row = {
        "size": record["size"],
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(peak / 2**20),
        "max_memory": args.max_memory or "auto",
        "threads": args.threads,
        "scales": record["scales"],
        "memory": record["memory"],
        "quality": record["settings"]["quality"],
        "extra": args.extra,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "when": time.strftime("%Y-%m-%d %H:%M"),
    }
    with (RESULTS / "large.jsonl").open("a") as handle:
        handle.write(json.dumps(row) + "\n")
    print(json.dumps(row))


if __name__ == "__main__":
    main()
