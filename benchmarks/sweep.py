"""Sweep one setting over content × style pairs: save every output, evaluate it, and make a sheet.

    python benchmarks/sweep.py style_loss=gram,meancov --size 256 --contents tubingen face \
        --styles starry_night the_scream --out benchmarks/results/sweep_style_loss

Writes OUT/<content>__<style>__<value>.png, OUT/sheet.png and OUT/scores.json, and prints a table
of the mean content error, SSIM and Gram distance per value (see ``brushwork.evaluate``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import brushwork
from brushwork.evaluate import evaluate_many
from brushwork.sheet import format_value, make_sheet, parse_sweep, save_sheet

SHARED = Path(__file__).resolve().parents[2] / "shared" / "images"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sweep", help="SETTING=V1,V2,... (a brushwork.Settings field)")
    parser.add_argument("--contents", nargs="+", default=["tubingen", "face", "golden_gate"])
    parser.add_argument("--styles", nargs="+", default=["starry_night", "the_scream", "kandinsky"])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--set", nargs="*", default=[], help="fixed settings, SETTING=VALUE")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    field, values = parse_sweep(args.sweep)
    fixed: dict[str, Any] = {"size": args.size, "seed": 0}
    for item in args.set:
        name, parsed = parse_sweep(item)
        fixed[name] = parsed[0]
    args.out.mkdir(parents=True, exist_ok=True)
    scores: list[dict[str, Any]] = []
    rows, labels = [], []
    for content in args.contents:
        for style in args.styles:
            content_path = SHARED / "content" / f"{content}.jpg"
            style_path = SHARED / "style" / f"{style}.jpg"
            row, outputs = [], []
            for value in values:
                started = time.perf_counter()
                result = brushwork.stylize(content_path, style_path, **{**fixed, field: value})
                seconds = time.perf_counter() - started
                path = args.out / f"{content}__{style}__{format_value(value)}.png"
                result.save(path)
                row.append(path)
                outputs.append((value, path, seconds))
            for (value, _path, seconds), ev in zip(
                outputs, evaluate_many(content_path, [style_path], [p for _, p, _ in outputs]), strict=True
            ):
                scores.append(
                    {
                        "content": content,
                        "style": style,
                        "value": format_value(value),
                        "seconds": round(seconds, 1),
                        **ev.to_dict(),
                    }
                )
                print(json.dumps(scores[-1] | {"styles": None}), flush=True)
            rows.append(row)
            labels.append(f"{content} / {style}")
    (args.out / "scores.json").write_text(json.dumps(scores, indent=1))
    sheet = make_sheet(
        rows,
        row_labels=labels,
        col_labels=[f"{field}={format_value(v)}" for v in values],
        cell_size=min(args.size, 320),
    )
    save_sheet(sheet, args.out / "sheet.png")
    print(f"\n| {field} | content error ↓ | SSIM ↑ | Gram distance ↓ | mean/cov distance ↓ | seconds |")
    print("|---|---|---|---|---|---|")
    for value in values:
        mine = [s for s in scores if s["value"] == format_value(value)]

        def mean(key: str, mine: list[dict[str, Any]] = mine) -> float:
            return statistics.fmean(s[key] for s in mine)

        print(
            f"| {format_value(value)} | {mean('content_error'):.3f} | {mean('ssim'):.3f} | "
            f"{mean('style_gram'):.3f} | {mean('style_meancov'):.3f} | {mean('seconds'):.1f} |"
        )


if __name__ == "__main__":
    main()
