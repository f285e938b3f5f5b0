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
# (label, temporal blend, flow scale)
RUNS = (
    ("fast, frames as stills", 0.0, 1.0),
    ("fast, temporal (default: flow at full size)", 0.6, 1.0),
    ("fast, temporal, flow at half size", 0.6, 0.5),
)


def paint_clip(
    clip: Path, style: Path, output: Path, blend: float, scale: float, duration: float | None, args: Any
) -> Any:
    """The fast engine over ``duration`` seconds of the clip into a folder of frames, from scratch."""
    return stylize_video(
        clip,
        [style],
        output,
        settings=Settings(method="fast"),
        size=args.size,
        start=args.start,
        duration=duration,
        temporal_blend=blend,
        flow_scale=scale,
        restart=True,
    )


def paint(
    clip: Path, style: Path, blend: float, scale: float, folder: Path, args: argparse.Namespace
) -> dict[str, Any]:
    output = folder / f"blend_{round(blend * 100)}_{round(scale * 100)}"
    started = time.perf_counter()
    result = paint_clip(clip, style, output, blend, scale, args.duration, args)
    seconds = time.perf_counter() - started
    evaluation = evaluate_video(
        output, clip, [style], start=args.start, duration=args.duration, samples=args.samples
    )
    return {
        "temporal_blend": blend,
        "flow_scale": scale,
        "frames": result.frames,
        "size": list(result.size),
        "seconds": round(seconds, 2),
        "seconds_per_frame": round(result.timings["painting"] / max(result.frames, 1), 3),
        **evaluation.to_dict(),
    }


def timing_rounds(clip: Path, style: Path, folder: Path, args: argparse.Namespace) -> dict[str, list[float]]:
    """Seconds per frame of each run over the first ``--timing-duration`` seconds, the runs taking
    turns for ``--rounds`` rounds, so that a busy machine's load falls on all of them alike."""
    seconds: dict[str, list[float]] = {label: [] for label, _, _ in RUNS}
    for _ in range(args.rounds):
        for label, blend, scale in RUNS:
            output = folder / f"timing_{round(blend * 100)}_{round(scale * 100)}"
            result = paint_clip(clip, style, output, blend, scale, args.timing_duration, args)
            seconds[label].append(result.timings["painting"] / max(result.frames, 1))
            shutil.rmtree(output, ignore_errors=True)
    return seconds


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
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds, the runs taking turns")
    parser.add_argument("--timing-duration", type=float, default=3.0, help="seconds each timing round paints")
    args = parser.parse_args()

    info = machine()
    load_before = load()
    folder = Path(tempfile.mkdtemp(prefix="bench_video_"))
    # warm-up: the engine's networks load once per process, not in the first run's time
    first_frame = next(read_frames(args.clip)).rgb
    stylize(first_frame, [args.style], settings=Settings(method="fast", size=max(first_frame.shape[:2])))
    try:
        runs = [
            (label, paint(args.clip, args.style, blend, scale, folder, args)) for label, blend, scale in RUNS
        ]
        timing = timing_rounds(args.clip, args.style, folder, args)
        window = Window(args.start, args.duration)
        frames = (frame.rgb for frame in read_frames(args.clip, window))
        floor = warping_error(frames, (frame.rgb for frame in read_frames(args.clip, window)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    data = {
        "machine": info, "clip": str(args.clip), "style": str(args.style), "runs": dict(runs),
        "input_warping_error": floor, "load": {"before": load_before, "after": load()},
        "timing_rounds": {"duration": args.timing_duration, "seconds_per_frame": timing},
    }  # fmt: skip
    write_json("bench_video", data)
    print(section(data))


def section(data: dict[str, Any]) -> str:
    """The table (seconds per frame, warping error, style) and each temporal run against the stills
    as ratios: frame rate (the fastest of the timing rounds, in which the runs take turns), style
    distance and warping error."""
    runs = data["runs"]
    rows = [
        [label, f"{run['seconds_per_frame']:.3f}", f"{run['warping_error']:.5f}", f"{run['style_gram']:.4g}",
         f"{run['content_error']:.4g}"]
        for label, run in runs.items()
    ]  # fmt: skip
    rows.append(["the input itself (the floor)", "", f"{data['input_warping_error']:.5f}", "", ""])
    labels = list(runs)
    still = runs[labels[0]]
    timing = data.get("timing_rounds", {}).get("seconds_per_frame", {})
    ratios = []
    for label in labels[1:]:
        run = runs[label]
        rate = (
            f"{min(timing[labels[0]]) / min(timing[label]):.2f}x"
            if timing.get(label) and timing.get(labels[0])
            else f"{still['seconds_per_frame'] / run['seconds_per_frame']:.2f}x (whole clip)"
        )
        ratios.append(
            [label, rate, f"{run['style_gram'] / still['style_gram'] - 1:+.1%}",
             f"{run['warping_error'] / still['warping_error']:.2f}x"]
        )  # fmt: skip
    first = runs[labels[0]]
    rounds = len(next(iter(timing.values()), []))
    return (
        f"{Path(data['clip']).name}, {first['frames']} frames at {first['size'][0]} × {first['size'][1]}, "
        f"style {Path(data['style']).name}; style Gram on frames {first['sampled']}.\n\n"
        + table(["run", "s / frame", "warping error ↓", "style Gram ↓", "content error"], rows)
        + f"\n\nAgainst the stills (frame rate: the fastest of {rounds} timing rounds of "
        f"{data.get('timing_rounds', {}).get('duration', '?')} s, the runs taking turns):\n\n"
        + table(["run", "frame rate / stills'", "style distance", "warping error / stills'"], ratios)
    )


if __name__ == "__main__":
    main()
