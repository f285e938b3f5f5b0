"""Command line: a thin shell over :func:`brushwork.stylize`.

Exit status: 0 done, 1 internal error, 2 the user's mistake (bad file, bad option), 130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from brushwork.config import Settings

log = logging.getLogger("brushwork")

COMMANDS = ("stylize", "info")
CLI_ONLY_HELP = {
    "size": "long side of the output in pixels (the aspect ratio is kept)",
}


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except the empty ones (None, False) that say nothing."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False) or isinstance(action, argparse._StoreFalseAction):
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """Reports a usage error as one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"brushwork: error: {message} (see --help)\n")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_settings_options(parser: argparse.ArgumentParser) -> None:
    """One option per :class:`Settings` field, with its default and help from the dataclass."""
    hints = typing.get_type_hints(Settings)
    group = parser.add_argument_group("transfer settings")
    for f in dataclasses.fields(Settings):
        hint = hints[f.name]
        help_text = CLI_ONLY_HELP.get(f.name, f.metadata.get("help", ""))
        args = typing.get_args(hint)
        non_none = [a for a in args if a is not type(None)]
        if hint is bool:
            if f.default:
                group.add_argument(
                    "--no-" + f.name.replace("_", "-"),
                    dest=f.name,
                    action="store_false",
                    help=f"turn off: {help_text}",
                )
            else:
                group.add_argument(_flag(f.name), dest=f.name, action="store_true", help=help_text)
            continue
        kwargs: dict[str, Any] = {"dest": f.name, "default": f.default, "help": help_text}
        inner = (
            non_none[0]
            if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
            else hint
        )
        if typing.get_origin(inner) is tuple:
            element = typing.get_args(inner)[0]
            kwargs.update(nargs="+", type=element, metavar=element.__name__.upper())
        elif typing.get_origin(inner) is typing.Literal:
            kwargs.update(choices=typing.get_args(inner))
        else:
            kwargs.update(type=inner)
        group.add_argument(_flag(f.name), **kwargs)


def build_parser() -> argparse.ArgumentParser:
    formatter = _HelpFormatter
    parser = _Parser(
        prog="brushwork",
        description="Paint a photo in the style of one or more artworks (neural style transfer).",
        epilog="Shortcut: 'brushwork CONTENT STYLE -o OUT' means 'brushwork stylize CONTENT STYLE -o OUT'.",
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    run = commands.add_parser("stylize", help="stylize a photo", formatter_class=formatter)
    run.add_argument("content", help="the photo")
    run.add_argument("styles", nargs="+", metavar="style", help="one or more style images")
    run.add_argument("-o", "--output", required=True, help="output file; its extension picks the format")
    run.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    run.add_argument(
        "--weights", default=None, help="VGG19 weights file (default: $BRUSHWORK_WEIGHTS or bundled)"
    )
    run.add_argument(
        "--bit-depth", type=int, choices=(8, 16), default=8, help="bits per sample (16: PNG/TIFF)"
    )
    run.add_argument("--save-every", type=int, default=0, metavar="N", help="save the picture every N steps")
    run.add_argument("--sidecar", action="store_true", help="also write OUTPUT.json with the settings used")
    run.add_argument("--json", action="store_true", help="print a one-line JSON record of the run on stdout")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_settings_options(run)

    commands.add_parser("info", help="show version, device, precision support and weights")
    return parser


def _settings_from(args: argparse.Namespace) -> Settings:
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(Settings)}
    for name, value in values.items():
        if isinstance(value, list):
            values[name] = tuple(value)
    return Settings(**values)


def _intermediate_path(output: Path, step: int) -> Path:
    return output.with_name(f"{output.stem}.step{step:05d}{output.suffix}")


def _run_stylize(args: argparse.Namespace) -> int:
    from brushwork import imageio
    from brushwork.api import Progress, stylize
    from brushwork.device import resolve_device
    from brushwork.errors import SettingsError

    settings = _settings_from(args)
    if args.save_every < 0:
        raise SettingsError(f"save-every must be >= 0, got {args.save_every}")
    output = Path(args.output)
    imageio.check_output_path(output)
    if args.bit_depth == 16 and output.suffix.lower() not in (".png", ".tif", ".tiff"):
        raise SettingsError("bit-depth 16 needs a .png or .tif output")
    device = resolve_device(args.device)

    bar = None
    if not args.quiet and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=1, unit="step", file=sys.stderr, dynamic_ncols=True)

    def on_progress(p: Progress) -> None:
        if bar is not None:
            bar.total = p.total
            bar.set_description(f"scale {p.scale}/{p.scales} {p.size[0]}x{p.size[1]}", refresh=False)
            bar.set_postfix(loss=f"{p.losses['total']:.4g}", refresh=False)
            bar.update(p.done - bar.n)
        if args.save_every and p.done % args.save_every == 0:
            imageio.write_image(_intermediate_path(output, p.done), p.image())

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
    result.save(output, bits=args.bit_depth, sidecar=args.sidecar)
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


def _run_info() -> int:
    import torch

    from brushwork import __version__
    from brushwork.device import bf16_supported, resolve_device
    from brushwork.features import find_weights

    device = resolve_device("auto")
    try:
        source = find_weights()
        weights = f"{source.path} ({source.origin})"
    except Exception as error:  # info must still print the rest
        weights = f"not found: {error}"
    rows = {
        "brushwork": __version__,
        "torch": torch.__version__,
        "device": str(device),
        "bf16 native": "yes" if bf16_supported(device) else "no (fp32 is used)",
        "cpu capability": torch.backends.cpu.get_cpu_capability(),
        "threads": str(torch.get_num_threads()),
        "weights": weights,
    }
    width = max(len(k) for k in rows)
    for key, value in rows.items():
        print(f"{key:<{width}}  {value}")
    return 0


def _normalise_argv(argv: list[str]) -> list[str]:
    """Insert ``stylize`` for the shortcut form ``brushwork CONTENT STYLE ...``."""
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is not None and first not in COMMANDS and "--version" not in argv:
        return ["stylize", *argv]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    from brushwork.errors import UserInputError

    args_list = _normalise_argv(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    logging.basicConfig(level=logging.WARNING, format="brushwork: %(message)s")
    try:
        args = parser.parse_args(args_list)
        if args.version:
            from brushwork import __version__

            print(f"brushwork {__version__}")
            return 0
        if args.command == "info":
            return _run_info()
        if args.command is None:
            parser.print_help(sys.stderr)
            return 2
        return _run_stylize(args)
    except UserInputError as error:
        print(f"brushwork: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("brushwork: interrupted; nothing was written", file=sys.stderr)
        return 130
    except Exception as error:
        if os.environ.get("BRUSHWORK_DEBUG"):
            raise
        print(
            f"brushwork: internal error: {type(error).__name__}: {error} "
            "(set BRUSHWORK_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
