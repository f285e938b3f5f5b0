"""``brushwork video`` and ``brushwork video-eval``: thin shells over :func:`stylize_video` and
:func:`evaluate_video`. Imports nothing from the video extra until a video command runs."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from fractions import Fraction
from typing import Any

from brushwork.config import Settings
from brushwork.errors import UserInputError
from brushwork.options import add_settings_options, settings_from

# as brushwork.video.codecs.CODECS (not imported: it needs the extra)
CODECS = ("h264", "h265", "prores", "dnxhr", "vp9", "av1", "ffv1")
DEFAULT_BLEND = 0.75  # as brushwork.video.temporal.DEFAULT_BLEND (not imported: it needs the extra)
_UNITS = {"": 1, "k": 1_000, "m": 1_000_000}


def _bitrate(text: str) -> int:
    """'4M', '800k' or '2500000' bits per second."""
    value = text.strip().lower().removesuffix("bps").removesuffix("b")
    unit = value[-1:] if value[-1:] in ("k", "m") else ""
    try:
        return round(float(value[: len(value) - len(unit)]) * _UNITS[unit])
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a bitrate such as 4M or 800k, got {text!r}") from None


def _rate(text: str) -> Fraction:
    """'24', '23.976' or '24000/1001'."""
    try:
        rate = Fraction(text) if "/" in text else Fraction(float(text)).limit_denominator(1001)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f"expected a frame rate such as 24 or 24000/1001, got {text!r}"
        ) from None
    if not 1 <= rate <= 1000:
        raise argparse.ArgumentTypeError(f"frame rate must be between 1 and 1000, got {text!r}")
    return rate


def _seconds(text: str) -> float:
    """'12.5', '1:30' or '0:01:30.5'."""
    try:
        total = 0.0
        for part in text.split(":"):
            total = total * 60 + float(part)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds such as 12.5 or 1:30, got {text!r}") from None
    return total


def add_video_parsers(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    vp = commands.add_parser(
        "video",
        help="paint a video clip, steady from frame to frame, keeping its timing and sound",
        description="Paint every frame of VIDEO in the style of the STYLE image(s). Frames keep their "
        "timestamps, rotation and pixel aspect; audio is copied untouched where the output container can "
        "hold it; colour tags, timecode and metadata are kept, and a 10-bit clip stays 10-bit where the "
        "codec holds it. The output's extension picks the container (.mp4/.mov/.mkv/.webm take --codec; "
        ".avi, .gif); a folder name or a pattern such as frames/f_%04d.tif gets image files. Finished "
        "frames wait in OUTPUT.brushwork-frames: run the same command again after an interruption to "
        "continue.",
        epilog="Example: brushwork video clip.mp4 starry.jpg -o painted.mp4. The fast engine is the "
        "default here; --method optimize paints each frame with the optimizer (minutes a frame).",
        formatter_class=formatter,
    )
    vp.add_argument(
        "video",
        help="the clip (mp4, mov, mkv, webm, avi, mxf, gif), or image frames: a folder or a pattern such as "
        "shot/frame_%%04d.exr",
    )
    vp.add_argument("styles", nargs="+", metavar="style", help="one or more style images")
    vp.add_argument(
        "-o",
        "--output",
        required=True,
        help="output video, or image files: a folder (PNG) or a pattern such as frames/frame_%%04d.tif",
    )
    vp.add_argument("--start", type=_seconds, default=0.0, help="paint from this time (seconds or m:s)")
    vp.add_argument("--duration", type=_seconds, default=None, help="paint this many seconds")
    vp.add_argument(
        "--temporal-blend",
        type=float,
        default=DEFAULT_BLEND,
        help="share of the previous painted frame, moved along the optical flow, kept where it can be "
        "trusted (0: independent frames)",
    )
    vp.add_argument(
        "--crf", type=int, default=None, help="video quality, lower is better (H.264: 18, VP9: 31)"
    )
    vp.add_argument(
        "--bitrate", type=_bitrate, default=None, help="video bitrate such as 4M (instead of --crf)"
    )
    vp.add_argument(
        "--codec",
        choices=CODECS,
        default=None,
        help="video codec (default: the container's, H.264 for .mp4/.mov/.mkv and VP9 for .webm, or the "
        "source's own where the container holds it)",
    )
    vp.add_argument(
        "--profile",
        default=None,
        help="codec profile: prores proxy/lt/standard/hq/4444/4444xq, dnxhr lb/sq/hq/hqx/444, h264 "
        "baseline/main/high/high10/high422/high444, h265 main/main10/main12/main422-10/main444-10",
    )
    vp.add_argument(
        "--pix-fmt",
        default=None,
        help="FFmpeg pixel format such as yuv422p10le (default: the source's bit depth and chroma where "
        "the codec holds them)",
    )
    vp.add_argument(
        "--bit-depth",
        type=int,
        choices=(8, 10, 12, 16, 32),
        default=None,
        help="bits per sample of the output (image files: 8 or 16; EXR: 16 half or 32 float)",
    )
    vp.add_argument(
        "--fps",
        type=_rate,
        default=None,
        help="frame rate of an image-sequence input, such as 24 or 24000/1001 (default 24)",
    )
    vp.add_argument(
        "--color-primaries",
        default=None,
        help="the output's primaries, e.g. bt709, bt2020 (default: the source's)",
    )
    vp.add_argument(
        "--color-trc",
        default=None,
        help="the output's transfer, e.g. bt709, srgb, pq, hlg (default: the source's)",
    )
    vp.add_argument(
        "--colorspace", default=None, help="the output's matrix, e.g. bt709, bt2020nc (default: the source's)"
    )
    vp.add_argument(
        "--color-range",
        choices=("tv", "pc"),
        default=None,
        help="the output's range, tv (limited) or pc (full) (default: the source's)",
    )
    vp.add_argument("--restart", action="store_true", help="throw away finished frames of an earlier run")
    vp.add_argument(
        "--keep-frames", action="store_true", help="keep the work folder after the video is written"
    )
    vp.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    vp.add_argument(
        "--weights", default=None, help="VGG19 weights file (default: $BRUSHWORK_WEIGHTS or bundled)"
    )
    vp.add_argument("--json", action="store_true", help="print a one-line JSON record of the run on stdout")
    vp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_settings_options(vp)
    vp.set_defaults(size=None, method="fast")
    for action in vp._actions:
        if action.dest == "size":
            action.help = "long side of the painted frames in pixels (default: the clip's own size)"

    ev = commands.add_parser(
        "video-eval",
        help="measure a painted video's flicker (warping error) and style against its input",
        description="Warping error between consecutive frames (Lai et al. 2018), with the flow and "
        "occlusions taken from the input frames, for the OUTPUT and for the input itself (the floor; "
        "lower is steadier), and the style and content numbers of 'brushwork evaluate' averaged over a "
        "few frames, so that a washed-out result cannot pass for a steady one.",
        epilog="Example: brushwork video-eval painted.mp4 -i clip.mp4 -s starry.jpg",
        formatter_class=formatter,
    )
    ev.add_argument("output", help="the painted video (or folder of PNG frames)")
    ev.add_argument("-i", "--input", required=True, help="the clip it was painted from")
    ev.add_argument("-s", "--style", dest="styles", action="append", required=True, metavar="STYLE",
                    help="a style image; repeat for several")  # fmt: skip
    ev.add_argument("--start", type=_seconds, default=0.0, help="as the output was painted with")
    ev.add_argument("--duration", type=_seconds, default=None, help="as the output was painted with")
    ev.add_argument("--samples", type=int, default=4, help="frames the style and content numbers average")
    ev.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    ev.add_argument(
        "--weights", default=None, help="VGG19 weights file (default: $BRUSHWORK_WEIGHTS or bundled)"
    )
    ev.add_argument("--json", action="store_true", help="print one JSON document instead of a table")


def _require_extra() -> None:
    for package, module in (("av", "av"), ("opencv-python-headless", "cv2")):
        if importlib.util.find_spec(module) is None:
            raise UserInputError(
                f"video needs the video extra ({package} is missing): pip install 'brushwork[video]'"
            )


def run_video_command(args: argparse.Namespace) -> int:
    _require_extra()
    os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its settings banner otherwise (1: errors only)
    if args.command == "video-eval":
        return _run_video_eval(args)
    return _run_video(args)


def _run_video(args: argparse.Namespace) -> int:
    from brushwork.device import resolve_device
    from brushwork.video.api import VideoProgress, stylize_video
    from brushwork.video.io import CodecRequest

    size = args.size
    args.size = Settings.size  # the clip's own size is decided once the clip is read
    settings = settings_from(args)
    device = resolve_device(args.device)
    show_bar = not args.quiet and sys.stderr.isatty()
    bar: Any = None

    def on_progress(p: VideoProgress) -> None:
        nonlocal bar
        if not show_bar:
            return
        if bar is None:  # created on the first frame, so an early error stays one line
            from tqdm import tqdm

            bar = tqdm(total=p.total, unit="frame", file=sys.stderr, dynamic_ncols=True, desc="painting")
        if p.stage == "encoding":
            bar.set_description("encoding", refresh=True)
            return
        if p.total is not None and p.done > p.total:
            bar.total = p.done
        if p.reused:
            bar.set_postfix(reused=p.reused, refresh=False)
        bar.update(p.done - bar.n)

    try:
        result = stylize_video(
            args.video,
            args.styles,
            args.output,
            settings=settings,
            size=size,
            device=device,
            weights=args.weights,
            start=args.start,
            duration=args.duration,
            temporal_blend=args.temporal_blend,
            crf=args.crf,
            bitrate=args.bitrate,
            codec=CodecRequest(args.codec, args.profile, args.pix_fmt, args.bit_depth),
            colour={
                "primaries": args.color_primaries,
                "transfer": args.color_trc,
                "matrix": args.colorspace,
                "range": args.color_range,
            },
            fps=args.fps,
            restart=args.restart,
            keep_frames=args.keep_frames,
            callback=on_progress,
        )
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
            bar = None
        from brushwork.video.resume import work_folder_for

        work = work_folder_for(args.output)
        kept = f"finished frames are kept in {work}: run the same command again to continue"
        print(f"brushwork: interrupted; {kept if work.is_dir() else 'nothing was written'}", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    for note in result.notes:
        print(f"brushwork: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps({**result.record(), "device": str(device)}, sort_keys=True))
    elif not args.quiet:
        painting = result.timings["painting"]
        rate = f", {painting / result.painted:.2f} s a frame" if result.painted else ""
        reused = f", {result.reused} from an earlier run" if result.reused else ""
        print(
            f"wrote {result.output} ({result.frames} frames, {result.size[0]}x{result.size[1]}, "
            f"{result.timings['total']:.1f} s{rate}{reused})",
            file=sys.stderr,
        )
    return 0


def _run_video_eval(args: argparse.Namespace) -> int:
    from brushwork.device import resolve_device
    from brushwork.video.metrics import evaluate_video

    evaluation = evaluate_video(
        args.output,
        args.input,
        args.styles,
        start=args.start,
        duration=args.duration,
        samples=args.samples,
        weights=args.weights,
        device=resolve_device(args.device),
    )
    if args.json:
        print(json.dumps({"output": args.output, "input": args.input, "styles": args.styles,
                          **evaluation.to_dict()}, indent=2))  # fmt: skip
        return 0
    e = evaluation
    rows = [
        ["", "warping-error", "gram", "meancov", "content-error"],
        [args.output, f"{e.warping_error:.4g}", f"{e.style_gram:.4g}", f"{e.style_meancov:.4g}",
         f"{e.content_error:.4g}"],
        [f"{args.input} (floor)", f"{e.input_warping_error:.4g}", "", "", ""],
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(f"{e.frames} frames, {e.size[0]}x{e.size[1]}; style and content from frames {list(e.sampled)}")
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print("warping-error: lower is steadier (the input's own is the floor); gram, meancov: lower is more")
    print("like the painting; content-error: lower is closer to the input frames")
    return 0
