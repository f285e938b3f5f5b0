"""``brushwork mask PHOTO --subject|--background|--faces|--text -o MASK``: the mask a run finds, written as an
image (white paints, black keeps the photo), to check, edit and give back with ``--mask MASK``."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

KINDS = ("subject", "background", "faces", "text")


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    from brushwork.config import Settings

    run = commands.add_parser(
        "mask",
        help="write the mask that --mask subject, background, faces or text would use",
        description="Find the subject, the background, the faces or the text in a photo and write the "
        "mask a run would use (white paints, black keeps the photo), to check or edit it and pass it back "
        "with --mask.",
        formatter_class=formatter,
    )
    run.add_argument("photo", help="the photo")
    which = run.add_mutually_exclusive_group(required=True)
    for kind in KINDS:
        which.add_argument(
            f"--{kind}", dest="kind", action="store_const", const=kind, help=f"the mask of --mask {kind}"
        )
    run.add_argument("-o", "--output", required=True, help="the mask image; its extension picks the format")
    run.add_argument(
        "--size",
        type=int,
        default=Settings().size,
        help="long side of the mask, as the run's --size (0: the photo's own size)",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="no summary line")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from brushwork import imageio
    from brushwork.errors import SettingsError
    from brushwork.options import log
    from brushwork.outputs import check_output
    from brushwork.regions.resolve import photo_mask

    if args.size < 0 or args.size > 20000:
        raise SettingsError(f"size must be between 1 and 20000 (0: the photo's own size), got {args.size}")
    imageio.check_output_path(args.output)
    check_output(args.output, [args.photo])
    started = time.perf_counter()
    found = photo_mask(args.photo, args.kind, size=args.size or None)
    for note in found.notes:
        log.warning(note)
    imageio.write_image(args.output, np.repeat(found.mask[..., None], 3, axis=2))
    if not args.quiet:
        height, width = found.mask.shape
        share = float((found.mask > 0.5).mean())
        print(
            f"wrote {args.output} ({width}x{height}, {args.kind}: {share:.0%} of the picture paints, "
            f"{time.perf_counter() - started:.1f} s)",
            file=sys.stderr,
        )
    return 0
