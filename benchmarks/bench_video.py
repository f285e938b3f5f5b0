"""Video: seconds per frame and flicker of the fast engine painting frames as stills vs temporally.

Paints the clip twice with ``--method fast`` into folders of PNG frames (so that no codec noise enters
the measure): once as independent stills (temporal blend 0) and once with the flow-guided temporal
blending (the default, 0.6). For each, and for the input itself (the floor), it reports the warping
error between consecutive frames (Lai et al. 2018; flow and occlusions from the input frames) and, so
that a washed-out result cannot win, the style distance (relative Gram distance, averaged over a few
frames). Prints a Markdown table naming the CPU; the JSON goes to benchmarks/results/bench_video.json.

    python benchmarks/bench_video.py [--clip /work/shared/video/cutBunny.mp4] [--style STYLE]
        [--duration SECONDS] [--size PX] [--samples N]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import IMAGES, load, machine, table, write_json
from brushwork import Settings, stylize
from brushwork.video import evaluate_video, stylize_video
from brushwork.video.io import Window, read_frames
from brushwork.video.metrics import warping_error

CLIP = Path("/work/shared/video/cutBunny.mp4")
STYLE = IMAGES / "style" / "starry_night.jpg"
RUNS = (("fast, frames as stills", 0.0), ("fast, temporal", 0.6))


def paint(clip: Path, style: Path, blend: float, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    output = folder / f"blend_{round(blend * 100)}"
    started = time.perf_counter()
    result = stylize_video(
        clip,
        [style],
        output,
        settings=Settings(method="fast"),
        size=args.size,
        start=args.start,
        duration=args.duration,
        temporal_blend=blend,
        restart=True,
    )
    seconds = time.perf_counter() - started
    evaluation = evaluate_video(
        output, clip, [style], start=args.start, duration=args.duration, samples=args.samples
    )
    return {
        "temporal_blend": blend,
        "frames": result.frames,
        "size": list(result.size),
        "seconds": round(seconds, 2),
        "seconds_per_frame": round(result.timings["painting"] / max(result.frames, 1), 3),
        **evaluation.to_dict(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clip", type=Path, default=CLIP)
    parser.add_argument("--style", type=Path, default=STYLE)
    parser.add_argument("--start", type=float, default=0.0)
    parser.add_argument("--duration", type=float, default=None, help="seconds (default: the whole clip)")
    parser.add_argument("--size", type=int, default=None, help="long side (default: the clip's own)")
    parser.add_argument("--samples", type=int, default=4, help="frames the style distance averages")
    args = parser.parse_args()

    info = machine()
    load_before = load()
    folder = Path(tempfile.mkdtemp(prefix="bench_video_"))
    # warm-up: the engine's networks load once per process, not in the first run's time
    first_frame = next(read_frames(args.clip)).rgb
    stylize(first_frame, [args.style], settings=Settings(method="fast", size=max(first_frame.shape[:2])))
    try:
        runs = [(label, paint(args.clip, args.style, blend, folder, args)) for label, blend in RUNS]
        window = Window(args.start, args.duration)
        frames = (frame.rgb for frame in read_frames(args.clip, window))
        floor = warping_error(frames, (frame.rgb for frame in read_frames(args.clip, window)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    data = {
        "machine": info, "clip": str(args.clip), "style": str(args.style), "runs": dict(runs),
        "input_warping_error": floor, "load": {"before": load_before, "after": load()},
    }  # fmt: skip
    write_json("bench_video", data)
    print(section(data))


def section(data: dict[str, Any]) -> str:
    """The table (seconds per frame, warping error, style), with the clip and what the columns mean."""
    rows = [
        [label, f"{run['seconds_per_frame']:.3f}", f"{run['warping_error']:.5f}", f"{run['style_gram']:.4g}",
         f"{run['content_error']:.4g}"]
        for label, run in data["runs"].items()
    ]  # fmt: skip
    rows.append(["the input itself (the floor)", "", f"{data['input_warping_error']:.5f}", "", ""])
    first = next(iter(data["runs"].values()))
    return (
        f"{Path(data['clip']).name}, {first['frames']} frames at {first['size'][0]} × {first['size'][1]}, "
        f"style {Path(data['style']).name}; style Gram on frames {first['sampled']}.\n\n"
        + table(["run", "s / frame", "warping error ↓", "style Gram ↓", "content error"], rows)
    )


if __name__ == "__main__":
    main()
