"""``brushwork sheet``: every content with every style (or one setting swept) in one labelled grid, a
thin shell over :mod:`brushwork.sheet`."""

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
    run_inputs,
    settings_from,
)


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    sh = commands.add_parser(
        "sheet",
        help="stylize every content with every style (or sweep a setting) into one labelled grid",
        description="Without --sweep: one row per content, one column per style. With --sweep: one row "
        "per content/style pair, one column per value of the setting.",
        epilog="Examples: brushwork sheet --contents a.jpg b.jpg --styles s.jpg t.jpg -o grid.png; "
        "brushwork sheet --content a.jpg --style s.jpg --sweep style-weight=0.3,1,3 -o sweep.png",
        formatter_class=formatter,
    )
    sh.add_argument("--contents", "--content", nargs="+", required=True, metavar="IMAGE", help="photos")
    sh.add_argument("--styles", "--style", nargs="+", required=True, metavar="IMAGE", help="style images")
    sh.add_argument("-o", "--output", required=True, help="the sheet image; its extension picks the format")
    sh.add_argument(
        "--sweep",
        default=None,
        metavar="SETTING=V1,V2,...",
        help="vary one setting across the columns, e.g. style-weight=0.3,1,3 (tuple values join with +)",
    )
    sh.add_argument(
        "--cell-size", type=int, default=None, help="side of each cell in pixels (default: --size)"
    )
    sh.add_argument("--title", default=None, help="a title line above the grid")
    sh.add_argument(
        "--no-inputs",
        dest="show_inputs",
        action="store_false",
        help="leave out the content and style images themselves",
    )
    sh.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    sh.add_argument(
        "--weights", default=None, help="VGG19 weights file (default: $BRUSHWORK_WEIGHTS or bundled)"
    )
    sh.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    add_settings_options(sh)
    sh.set_defaults(size=256)


def run(args: argparse.Namespace) -> int:
    from brushwork import imageio, sheet
    from brushwork.device import resolve_device
    from brushwork.errors import SettingsError

    settings = settings_from(args)
    output = Path(args.output)
    imageio.check_output_path(output)
    if args.cell_size is not None and args.cell_size < 8:
        raise SettingsError(f"cell-size must be at least 8 pixels, got {args.cell_size}")
    check_outputs(output, run_inputs(args.contents, args.styles, settings))
    check_inputs(args.styles, args.weights)
    device = resolve_device(args.device)
    settings = fit_memory(settings, device)

    def on_cell(cell: sheet.CellDone) -> None:
        if not args.quiet:
            seconds = cell.result.timings["total"]
            print(f"[{cell.done}/{cell.total}] {cell.label} ({seconds:.1f} s)", file=sys.stderr)

    common: dict[str, Any] = {
        "settings": settings,
        "device": device,
        "weights": args.weights,
        "cell_size": args.cell_size,
        "show_inputs": args.show_inputs,
        "title": args.title,
        "on_cell": on_cell,
    }
    record: dict[str, Any] = {"contents": args.contents, "styles": args.styles}
    if args.sweep is not None:
        field, values = sheet.parse_sweep(args.sweep)
        image = sheet.sweep_sheet(args.contents, args.styles, field, values, **common)
        record["sweep"] = {"setting": field, "values": [sheet.format_value(v) for v in values]}
    else:
        image = sheet.stylize_sheet(args.contents, args.styles, **common)
    record["settings"] = settings.to_dict()
    metadata = {"Software": "brushwork", "brushwork": json.dumps(record, sort_keys=True)}
    sheet.save_sheet(image, output, metadata=metadata)
    if not args.quiet:
        print(f"wrote {output} ({image.width}x{image.height})", file=sys.stderr)
    return 0
