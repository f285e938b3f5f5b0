"""``brushwork evaluate -c PHOTO -s PAINTING OUTPUT...``: the numbers of :mod:`brushwork.evaluate`, as a
table or JSON."""

from __future__ import annotations

import argparse
import json
from typing import Any

from brushwork.options import check_inputs


def _float_list(text: str) -> list[float]:
    try:
        return [float(item) for item in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    ev = commands.add_parser(
        "evaluate",
        help="measure stylized images against their photo and painting(s)",
        description="Measure each OUTPUT against the photo it was made from (content-error: lower is "
        "closer; ssim: higher is closer, 1 = identical) and the style image(s) (gram, meancov: lower "
        "is closer; forms-gram, forms-meancov: the same at 1/4 size, the painting's large forms). One "
        "table row, or one JSON entry, per output.",
        epilog="Example: brushwork evaluate -c photo.jpg -s starry.jpg out1.png out2.png",
        formatter_class=formatter,
    )
    ev.add_argument("outputs", nargs="+", metavar="output", help="stylized image(s) to measure")
    ev.add_argument("-c", "--content", required=True, help="the photo the outputs were made from")
    ev.add_argument(
        "-s",
        "--style",
        dest="styles",
        action="append",
        required=True,
        metavar="STYLE",
        help="a style image; repeat the option for several styles",
    )
    ev.add_argument(
        "--blend",
        type=_float_list,
        default=None,
        metavar="W,W,...",
        help="weight of each style in the averaged style numbers (default: equal)",
    )
    ev.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    ev.add_argument(
        "--weights", default=None, help="VGG19 weights file (default: $BRUSHWORK_WEIGHTS or bundled)"
    )
    ev.add_argument("--json", action="store_true", help="print one JSON document instead of a table")


def run(args: argparse.Namespace) -> int:
    from brushwork.device import resolve_device
    from brushwork.evaluate import evaluate_many

    check_inputs([], args.weights)
    evaluations = evaluate_many(
        args.content,
        args.styles,
        args.outputs,
        blend=args.blend,
        weights=args.weights,
        device=resolve_device(args.device),
    )
    blend = args.blend or [1.0] * len(args.styles)
    if args.json:
        document = {
            "content": args.content,
            "styles": args.styles,
            "blend": blend,
            "outputs": [
                {"output": path, **evaluation.to_dict()}
                for path, evaluation in zip(args.outputs, evaluations, strict=True)
            ],
        }
        print(json.dumps(document, indent=2))
        return 0
    print(f"content  {args.content}")
    for index, (style, weight) in enumerate(zip(args.styles, blend, strict=True), start=1):
        print(f"style {index}  {style}" + (f"  (blend {weight:g})" if len(args.styles) > 1 else ""))
    header = ["output", "size", "content-error", "ssim", "gram", "meancov", "forms-gram", "forms-meancov"]
    if len(args.styles) > 1:
        header += [f"gram {i}" for i in range(1, len(args.styles) + 1)]
    rows = [header]
    for path, e in zip(args.outputs, evaluations, strict=True):
        row = [path, f"{e.size[0]}x{e.size[1]}"]
        values = (e.content_error, e.ssim, e.style_gram, e.style_meancov, e.forms_gram, e.forms_meancov)
        row += [f"{value:.4g}" for value in values]
        if len(args.styles) > 1:
            row += [f"{score.gram:.4g}" for score in e.styles]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    print()
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print()
    print("content-error, gram, meancov: lower is closer (to the photo, to the style)")
    print("forms-gram, forms-meancov: the same style distances at 1/4 size (the painting's large forms)")
    print("ssim: higher is closer to the photo (1 = identical)")
    return 0
