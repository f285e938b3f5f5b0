"""Video: seconds per frame, flicker and style of the fast engine painting frames as stills vs temporally.

Paints each clip with ``--method fast`` into folders of PNG frames (so that no codec noise enters the
measure): as independent stills (temporal blend 0), with the flow-guided temporal blending (the
default), with its flow at half size, and with the plain blend that was the default before issue 20
(weight 0.6, bilinear warp, no detail restoring; reproduced here as a baseline). For each, and for the
input itself (the floor), it reports the warping error between consecutive frames (Lai et al. 2018;
flow and occlusions from the input frames) and, so that a washed-out result cannot win, the style
distance (relative Gram distance, averaged over a few frames). The clips: cutBunny (slow, one long
shot) and a high-motion clip made by motion_clip.py (a whip pan, zoom, roll, a cut, occlusions).
Prints Markdown tables naming the CPU; the JSON goes to benchmarks/results/bench_video.json.

    python benchmarks/bench_video.py [--clip PATH ...] [--style STYLE] [--duration SECONDS]
        [--size PX] [--samples N] [--rounds N] [--timing-duration SECONDS]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

import motion_clip
from _common import IMAGES, load, machine, table, write_json
from brushwork import Settings, stylize
from brushwork.video import api, evaluate_video, stylize_video
from brushwork.video.flow import warp
from brushwork.video.io import Window, read_frames
from brushwork.video.metrics import warping_error
from brushwork.video.temporal import DEFAULT_BLEND, Stabilizer

CUT_BUNNY = Path("/work/shared/video/cutBunny.mp4")
STYLE = IMAGES / "style" / "starry_night.jpg"
BEFORE = "fast, temporal, before issue 20 (plain blend 0.6)"


@dataclass(frozen=True)
class PlainBlend(Stabilizer):
    """The temporal blending as it was before issue 20: a plain blend with the bilinearly warped previous
    output, weight 0.6 where the flow is trusted, no detail restoring."""

    def __call__(self, painted: Any, moved: Any, previous_output: Any) -> Any:
        fresh = np.asarray(painted, np.float32)
        if moved is None or previous_output is None:
            return fresh, True
        weight = 0.6 * moved.trust
        scale = np.iinfo(previous_output.dtype).max  # the previous output is kept as 8 or 16-bit
        carried = warp(previous_output.astype(np.float32) / scale, moved.backward)
        return np.clip(cv2.blendLinear(fresh, carried, 1.0 - weight, weight), 0.0, 1.0), False


# (label, temporal blend, flow scale)
RUNS = (
    ("fast, frames as stills", 0.0, 1.0),
    ("fast, temporal (default: flow at full size)", DEFAULT_BLEND, 1.0),
    ("fast, temporal, flow at half size", DEFAULT_BLEND, 0.5),
    (BEFORE, 0.6, 1.0),
)


@contextmanager
def stabilizer_for(label: str) -> Iterator[None]:
    """The baseline run swaps in :class:`PlainBlend`; every other run uses the library's own."""
    own = api._stabilizer
    if label == BEFORE:
        api._stabilizer = lambda blend: PlainBlend(blend)
    try:
        yield
    finally:
        api._stabilizer = own


def paint_clip(
    clip: Path, style: Path, output: Path, label: str, blend: float, scale: float, duration: float | None,
    args: Any,
) -> Any:  # fmt: skip
    """The fast engine over ``duration`` seconds of the clip into a folder of frames, from scratch."""
    with stabilizer_for(label):
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
    clip: Path, style: Path, run: tuple[str, float, float], folder: Path, args: argparse.Namespace
) -> dict[str, Any]:
    label, blend, scale = run
    output = folder / f"run_{RUNS.index(run)}"
    started = time.perf_counter()
    result = paint_clip(clip, style, output, label, blend, scale, args.duration, args)
    seconds = time.perf_counter() - started
    evaluation = evaluate_video(
        output, clip, [style], start=args.start, duration=args.duration, samples=args.samples
    )
    shutil.rmtree(output, ignore_errors=True)
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
        for number, (label, blend, scale) in enumerate(RUNS):
            output = folder / f"timing_{number}"
            result = paint_clip(clip, style, output, label, blend, scale, args.timing_duration, args)
            seconds[label].append(result.timings["painting"] / max(result.frames, 1))
            shutil.rmtree(output, ignore_errors=True)
    return seconds


def measure_clip(clip: Path, style: Path, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    runs = {run[0]: paint(clip, style, run, folder, args) for run in RUNS}
    timing = timing_rounds(clip, style, folder, args)
    window = Window(args.start, args.duration)
    frames = (frame.rgb for frame in read_frames(clip, window))
    floor = warping_error(frames, (frame.rgb for frame in read_frames(clip, window)))
    return {
        "clip": str(clip),
        "runs": runs,
        "input_warping_error": floor,
        "timing_rounds": {"duration": args.timing_duration, "seconds_per_frame": timing},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--clip", type=Path, action="append", help="a clip to paint (repeatable; default: cutBunny and "
        "the high-motion clip motion_clip.py makes)"
    )  # fmt: skip
    parser.add_argument("--style", type=Path, default=STYLE)
    parser.add_argument("--start", type=float, default=0.0)
    parser.add_argument("--duration", type=float, default=None, help="seconds (default: the whole clip)")
    parser.add_argument("--size", type=int, default=None, help="long side (default: the clip's own)")
    parser.add_argument("--samples", type=int, default=12, help="frames the style distance averages")
    parser.add_argument("--rounds", type=int, default=5, help="timing rounds, the runs taking turns")
    parser.add_argument("--timing-duration", type=float, default=3.0, help="seconds each timing round paints")
    args = parser.parse_args()
    clips = args.clip or [CUT_BUNNY, motion_clip.ensure()]

    info = machine()
    load_before = load()
    folder = Path(tempfile.mkdtemp(prefix="bench_video_"))
    # warm-up: the engine's networks load once per process, not in the first run's time
    first_frame = next(read_frames(clips[0])).rgb
    stylize(first_frame, [args.style], settings=Settings(method="fast", size=max(first_frame.shape[:2])))
    try:
        measured = [measure_clip(clip, args.style, folder, args) for clip in clips]
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    data = {
        "machine": info, "style": str(args.style), "clips": measured,
        "load": {"before": load_before, "after": load()},
    }  # fmt: skip
    write_json("bench_video", data)
    print(section(data))


def clip_tables(data: dict[str, Any], style: str) -> str:
    """One clip's table (seconds per frame, warping error, style) and each temporal run against the
    stills as ratios: frame rate (the fastest of the timing rounds, in which the runs take turns),
    style distance and warping error."""
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
    width, height = first["size"]
    rounds = len(next(iter(timing.values()), []))
    return (
        f"**{Path(data['clip']).name}**, {first['frames']} frames at {width} × {height}, "
        f"style {Path(style).name}; style Gram averaged over frames {first['sampled']}.\n\n"
        + table(["run", "s / frame", "warping error ↓", "style Gram ↓", "content error"], rows)
        + f"\n\nAgainst the stills (frame rate: the fastest of {rounds} timing rounds of "
        f"{data.get('timing_rounds', {}).get('duration', '?')} s, the runs taking turns):\n\n"
        + table(["run", "frame rate / stills'", "style distance", "warping error / stills'"], ratios)
    )


def section(data: dict[str, Any]) -> str:
    return "\n\n".join(clip_tables(clip, data["style"]) for clip in data["clips"])


if __name__ == "__main__":
    main()
