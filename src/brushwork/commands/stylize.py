"""``brushwork stylize CONTENT STYLE... -o OUTPUT`` (or ``brushwork CONTENT STYLE... -o OUTPUT``): one
picture, a thin shell over :func:`brushwork.stylize`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from brushwork.options import (
    add_settings_options,
    check_inputs,
    check_outputs,
    fit_memory,
    intermediate_path,
    log,
    run_inputs,
    settings_from,
    sidecar_path,
)


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    run = commands.add_parser("stylize", help="stylize a photo", formatter_class=formatter)
    run.add_argument("content", help="the photo")
    run.add_argument("styles", nargs="+", metavar="style", help="one or more style images")
    run.add_argument("-o", "--output", required=True, help="output file; its extension picks the format")
    run.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    run.add_argument(
        "--weights", default=None, help="VGG19 weights file (default: $BRUSHWORK_WEIGHTS or bundled)"
    )
    run.add_argument(
        "--bit-depth",
        type=int,
        choices=(8, 16),
        default=None,
        help="bits per sample (16: PNG, TIFF, PSD, JPEG XL; default: the photo's where the format holds it)",
    )
    run.add_argument(
        "--output-profile",
        choices=("source", "srgb"),
        default="source",
        help="colour space of the output: the photo's own (its ICC profile embedded) or sRGB for the web",
    )
    run.add_argument("--save-every", type=int, default=0, metavar="N", help="save the picture every N steps")
    run.add_argument("--sidecar", action="store_true", help="also write OUTPUT.json with the settings used")
    run.add_argument("--json", action="store_true", help="print a one-line JSON record of the run on stdout")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_settings_options(run)


def run(args: argparse.Namespace) -> int:
    from brushwork import imageio
    from brushwork.api import Progress, stylize
    from brushwork.device import resolve_device
    from brushwork.errors import SettingsError

    settings = settings_from(args)
    if args.save_every < 0:
        raise SettingsError(f"save-every must be >= 0, got {args.save_every}")
    if settings.method == "fast":
        for flag, given in (("--weights", args.weights is not None), ("--save-every", args.save_every > 0)):
            if given:
                raise SettingsError(f"{flag} only applies to --method optimize")
    output = Path(args.output)
    imageio.check_output_path(output)
    if args.bit_depth == 16 and not imageio.holds_16bit(output):
        raise SettingsError("bit-depth 16 needs a .png, .tif, .psd or .jxl output")
    inputs = run_inputs([args.content], args.styles, settings)
    check_outputs(output, inputs, sidecar=args.sidecar, save_every=args.save_every)
    check_inputs(args.styles, args.weights)
    device = resolve_device(args.device)
    settings = fit_memory(settings, device)

    show_bar = not args.quiet and sys.stderr.isatty()
    bar: Any = None

    def on_progress(p: Progress) -> None:
        nonlocal bar
        if show_bar and bar is None:  # created on the first step, so an early error stays one line
            from tqdm import tqdm

            bar = tqdm(total=p.total, unit="step", file=sys.stderr, dynamic_ncols=True)
        if bar is not None:
            bar.total = p.total
            where = f"scale {p.scale}/{p.scales} {p.size[0]}x{p.size[1]}"
            if p.tile is not None:
                where += f" tile {p.tile[0]}/{p.tile[1]}"
            bar.set_description(where, refresh=p.tile is not None)
            if "total" in p.losses:
                bar.set_postfix(loss=f"{p.losses['total']:.4g}", refresh=False)
            bar.update(p.done - bar.n)
        if p.tile is None and args.save_every and p.done % args.save_every == 0:
            imageio.write_image(intermediate_path(output, p.done), p.image())

    try:
        result = stylize(
            args.content,
            args.styles,
            settings=settings,
            device=device,
            weights=args.weights,
            callback=on_progress,
        )
    finally:
        if bar is not None:
            bar.close()
    for note in result.notes:
        log.warning(note)
    result.save(output, bits=args.bit_depth, output_profile=args.output_profile)
    if args.sidecar:  # written here, through a temporary name that fits however long the output's is
        from brushwork.outputs import write_text_atomically

        write_text_atomically(sidecar_path(output), json.dumps(result.record(), indent=2) + "\n")
    if args.json:
        print(json.dumps({"output": str(output), **result.record()}, sort_keys=True))
    elif not args.quiet:
        seconds = result.timings["total"]
        print(
            f"wrote {output} ({result.size[0]}x{result.size[1]}, {seconds:.1f} s, "
            f"{result.device}, {result.precision})",
            file=sys.stderr,
        )
    return 0
