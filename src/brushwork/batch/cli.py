"""``brushwork batch``: the command line of :func:`brushwork.batch.run_batch`, with one progress bar over
all items and a summary line (or JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from brushwork.options import add_settings_options, settings_from


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
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
        "--bit-depth",
        type=int,
        choices=(8, 16),
        default=None,
        help="bits per sample (16: png, tif, psd, jxl; default: each photo's where the format holds it)",
    )
    ba.add_argument(
        "--output-profile",
        choices=("source", "srgb"),
        default="source",
        help="colour space of the outputs: each photo's own (its ICC profile embedded) or sRGB",
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
    add_settings_options(ba)


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


def run(args: argparse.Namespace) -> int:
    import contextlib

    from brushwork.batch import BatchOptions, run_batch

    pair_seed = args.seed
    if args.method == "fast":  # deterministic, so it takes no seed: --seed then only draws the pairing
        args.seed = None
    settings = settings_from(args)
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
        output_profile=args.output_profile,
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
