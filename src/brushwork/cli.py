"""Command line: a thin shell over :func:`brushwork.stylize`.

Exit status: 0 done, 1 internal error, 2 the user's mistake (bad file, bad option), 130 interrupted,
141 stdout was closed early (``brushwork evaluate --json | head``; quietly, as other tools end on SIGPIPE).
Every output is checked before any work starts (see :mod:`brushwork.outputs`): none may replace an input.

This module is the entry point (``brushwork.cli:main``): it puts the parser together and maps errors to
exit statuses. Each command lives beside its subpackage (``batch/cli.py``, ``server/cli.py``,
``video/cli.py``) or in :mod:`brushwork.commands`; the transfer options they share are in
:mod:`brushwork.options`.
"""

from __future__ import annotations

import argparse
import functools
import gc
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from brushwork.batch import cli as batch_cli
from brushwork.commands import evaluate, info, mask, sheet, stylize
from brushwork.options import HelpFormatter
from brushwork.server import cli as serve_cli
from brushwork.video import cli as video_cli

BROKEN_PIPE_STATUS = 128 + 13  # 128 + SIGPIPE, what a shell reports for a tool that SIGPIPE ended
COMMANDS = ("stylize", "info", "evaluate", "sheet", "mask", "serve", "video", "video-eval", "batch")
RUNNERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "stylize": stylize.run,
    "info": info.run,
    "evaluate": evaluate.run,
    "sheet": sheet.run,
    "mask": mask.run,
    "serve": serve_cli.run,
    "video": video_cli.run_video_command,
    "video-eval": video_cli.run_video_command,
    "batch": batch_cli.run,
}


class _Parser(argparse.ArgumentParser):
    """Reports a usage error as one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"brushwork: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    formatter = HelpFormatter
    parser = _Parser(
        prog="brushwork",
        description="Paint a photo in the style of one or more artworks (neural style transfer).",
        epilog="Shortcut: 'brushwork CONTENT STYLE -o OUT' means 'brushwork stylize CONTENT STYLE -o OUT'.",
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    stylize.add_parser(commands, formatter)
    info.add_parser(commands, formatter)
    evaluate.add_parser(commands, formatter)
    sheet.add_parser(commands, formatter)
    mask.add_parser(commands, formatter)
    serve_cli.add_parser(commands, formatter)
    video_cli.add_video_parsers(commands, formatter)
    batch_cli.add_parser(commands, formatter)
    return parser


def _normalise_argv(argv: list[str]) -> list[str]:
    """Insert ``stylize`` for the shortcut form ``brushwork CONTENT STYLE ...``."""
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is not None and first not in COMMANDS and "--version" not in argv:
        return ["stylize", *argv]
    return argv


def _run_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.version:
        from brushwork import __version__

        print(f"brushwork {__version__}")
        return 0
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return RUNNERS[args.command](args)


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a real file (e.g. captured in tests)
        pass


@functools.cache
def _freeze_imports() -> None:
    """Keep what is imported so far out of the garbage collector, once per process: torch alone makes
    some 170,000 objects that live as long as the process, and without this the first full collection
    of a run (due during the first picture) scans them all, 0.1 s instead of 1 ms."""
    gc.freeze()


def main(argv: Sequence[str] | None = None) -> int:
    from brushwork.errors import UserInputError

    _freeze_imports()
    args_list = _normalise_argv(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    logging.basicConfig(level=logging.WARNING, format="brushwork: %(message)s")
    try:
        args = parser.parse_args(args_list)
        status = _run_command(parser, args)
        sys.stdout.flush()  # a closed pipe shows here, where it can still be answered quietly
        return status
    except BrokenPipeError:  # `brushwork evaluate --json | head`: the reader has all it wanted
        _discard_stdout()
        return BROKEN_PIPE_STATUS
    except UserInputError as error:
        print(f"brushwork: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("brushwork: interrupted; the output was not written", file=sys.stderr)
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
