"""Print-size outputs: wall time and peak memory of the real command line at large sizes, and seams.

    python benchmarks/bench_large.py --size 3840 --max-memory 6GB [--threads 2] [-- extra CLI flags]

Centre-crops taj_mahal.jpg to 16:9 (so that --size 3840 gives 3840 x 2160, as the issue's sizes),
runs ``python -m brushwork taj_16x9.png starry_night.jpg -o OUT --size N --bit-depth 16`` in a child
process, and records its wall time and peak resident memory (the child's own ru_maxrss) in
results/large.json. The output lands in results/large_<N>.png. Where the last scale ran in tiles, the
seam check of seams.py runs on it (step across the tile borders over the step on the same 16 px phase)
and ``--crop`` saves a 512 px crop centred where four tiles meet.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import IMAGES, RESULTS, load, machine, table, write_json
from seams import seam_report


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


def section(data: dict[str, Any]) -> str:
    """BENCHMARKS.md's table for this run."""
    tiles = data["record"]["memory"]["tiles"]
    scales = " → ".join(
        f"{w}×{h}" + (f" ({tile} px tiles)" if tile else "")
        for (w, h), tile in zip(data["record"]["scales"], tiles, strict=True)
    )
    row = [
        "×".join(map(str, data["record"]["size"])),
        data["quality"],
        data["max_memory"],
        str(data["threads"]),
        f"{data['seconds']:.0f}",
        f"{data['peak_rss_mb'] / 1024:.1f}",
        scales,
    ]
    header = ["output", "preset", "--max-memory", "threads", "seconds", "peak memory GB", "scales"]
    text = table(header, [row])
    seams = data.get("seams")
    if seams:
        text += (
            f"\n\nSeams: the mean luminance step across the last scale's {len(seams['column_borders'])} "
            f"column and {len(seams['row_borders'])} row tile borders is {seams['column_ratio']:.3f}x and "
            f"{seams['row_ratio']:.3f}x the step across every line of the same 16 px phase (1.0: no seam)."
        )
    return text


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--max-memory", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--content", type=Path, default=IMAGES / "content" / "taj_mahal.jpg")
    parser.add_argument("--style", type=Path, default=IMAGES / "style" / "starry_night.jpg")
    parser.add_argument("--crop", type=Path, help="save a 512 px crop where four tiles meet")
    parser.add_argument("--picture", type=Path, help="save the whole output reduced to 1600 px (JPEG)")
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
    info, load_start = machine(), load()
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    if done.returncode != 0:
        sys.exit(f"brushwork failed ({done.returncode}): {done.stderr.strip()}")
    record = json.loads(done.stdout.strip().splitlines()[-1])
    last_tile = record["memory"]["tiles"][-1]
    data = {
        "machine": info,
        "load": [load_start, load()],
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(peak / 2**20),
        "max_memory": args.max_memory or "auto",
        "threads": args.threads,
        "quality": record["settings"]["quality"],
        "extra": args.extra,
        "record": {key: record[key] for key in ("size", "scales", "memory", "seconds")},
        "seams": seam_report(output, last_tile, args.crop) if last_tile else None,
    }
    write_json("large", data)
    if args.picture:
        from PIL import Image

        with Image.open(output) as image:
            reduced = image.convert("RGB")
            reduced.thumbnail((1600, 1600), Image.LANCZOS)
            reduced.save(args.picture, quality=88, optimize=True)
    print(section(data))


if __name__ == "__main__":
    main()
