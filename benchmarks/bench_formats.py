"""Writing and reading each image format: seconds and bytes, at 8 and 16 bits.

    python benchmarks/bench_formats.py                       # 2048 px, 3 runs; writes results/formats.json
    git archive REV src | tar -x -C /tmp/old                 # an older commit's source, for a before/after:
    python benchmarks/bench_formats.py --src /tmp/old/src --name formats-old

Each measurement runs in a child process that imports brushwork from ``--src`` (default: this
checkout's), so that an older source (which knows fewer formats) can be timed the same way; formats
it does not write are skipped. The picture is taj_mahal.jpg from the shared images (else
examples/tubingen.jpg), resized to ``--size`` on its long side; 16-bit pictures get random
low bits, so that their compression is not flattered. ``write_image`` then ``read_image``, median
of ``--runs``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from _common import IMAGES, ROOT, load, machine, table, write_json

CASES = [(".png", 8), (".png", 16), (".tif", 8), (".tif", 16), (".jpg", 8), (".webp", 8), (".avif", 8),
         (".heic", 8), (".jxl", 8), (".jxl", 16), (".psd", 8), (".psd", 16), (".exr", 16)]  # fmt: skip

CHILD = r"""
import json, statistics, sys, tempfile, time
from pathlib import Path
import numpy as np
from brushwork import imageio
photo, size, runs, cases = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
picture = imageio.read_image(photo)
rgb = imageio.resize(picture.rgb, imageio.fit_long_side(picture.size, size))
noise = np.random.default_rng(0).random(rgb.shape, dtype=np.float32) / 255
deep = np.clip(rgb + noise - 0.5 / 255, 0, 1)
results = {}
with tempfile.TemporaryDirectory() as folder:
    for extension, bits in cases:
        path = Path(folder) / f"out{extension}"
        try:
            imageio.check_output_path(path)
        except Exception:
            continue
        values = deep if bits == 16 else rgb
        kwargs = {} if extension == ".exr" else {"bits": bits}
        writes, reads = [], []
        for _ in range(runs):
            started = time.perf_counter()
            imageio.write_image(path, values, **kwargs)
            writes.append(time.perf_counter() - started)
            started = time.perf_counter()
            imageio.read_image(path)
            reads.append(time.perf_counter() - started)
        results[f"{extension} {bits}"] = {
            "write": statistics.median(writes), "read": statistics.median(reads), "bytes": path.stat().st_size
        }
print(json.dumps({"size": list(rgb.shape[1::-1]), "results": results}))
"""


def default_photo() -> Path:
    shared = IMAGES / "content" / "taj_mahal.jpg"
    return shared if shared.is_file() else ROOT / "examples" / "tubingen.jpg"


def measure(src: Path, photo: Path, size: int, runs: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    argv = [sys.executable, "-c", CHILD, str(photo), str(size), str(runs), json.dumps(CASES)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"the child failed: {done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--src", type=Path, default=ROOT / "src", help="the source folder to import brushwork from"
    )
    parser.add_argument("--photo", type=Path, default=default_photo())
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--name", default="formats")
    args = parser.parse_args()
    before = load()
    measured = measure(args.src, args.photo, args.size, args.runs)
    data = {
        "machine": machine(),
        "load_before": before,
        "load_after": load(),
        "src": str(args.src),
        **measured,
    }
    write_json(args.name, data)
    print(section(data))


def section(data: dict[str, Any], before: dict[str, Any] | None = None) -> str:
    """Seconds to write and read each format and the file's size; ``before``: the same measured with
    an older source (``--src``, ``--name formats-old``), where there is such a run."""

    def cells(result: dict[str, float] | None) -> list[str]:
        if result is None:
            return ["—", "—", "—"]
        return [f"{result['write']:.2f}", f"{result['read']:.2f}", f"{result['bytes'] / 2**20:.2f}"]

    old = before["results"] if before else {}
    rows = [
        [case, *cells(result), *(cells(old.get(case)) if before else [])]
        for case, result in data["results"].items()
    ]
    header = ["format, bits", "write s", "read s", "MiB"]
    if before:
        header += ["before: write s", "read s", "MiB"]
    width, height = data["size"]
    return f"{width} × {height}, median of the runs.\n\n" + table(header, rows)


if __name__ == "__main__":
    main()
