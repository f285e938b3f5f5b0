"""Each preset's place on the time-vs-quality curve at 512 px, with pastiche's 20-step run as the yardstick.

    python benchmarks/presets.py                      # all seven diagonal pairs, then the report
    python benchmarks/presets.py --pairs 3 --pastiche 1
    python benchmarks/presets.py --report-only        # the report from benchmarks/results/presets

For each of the diagonal pairs (each shared photo and painting once, benchmarks/tune.py) it paints with
the fast engine, every quality preset, and the two presets as they were before issue 18 (pinned here, so
reruns reproduce them), each timed inside ``stylize()`` in one warm process (the networks built once
before the first timing), and scores every picture with ``brushwork.evaluate``: the large-form distance
(``forms_gram``: the Gram distance with output and painting reduced 4x), the full-size Gram distance,
SSIM and the content error. On the first ``--pastiche`` pairs it also runs pastiche 1.6.0 (the PyPI
package; its own default objective, fp32, L-BFGS) for 20 steps at the same size, timed from its
construction, and scores its picture the same way.

It writes benchmarks/results/presets/ (scores.jsonl and the pictures), results/presets.json (the table
in BENCHMARKS.md), and docs/presets/: the plot of seconds against the large-form distance (presets.png)
and a sheet of every pair by every variant (presets.jpg). Run it alone: two torch processes on two
cores distort each other.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

import brushwork
from _common import RESULTS, ROOT, load, machine, read_json, table, write_json
from brushwork import imageio
from brushwork.config import QUALITY_PRESETS, Settings
from brushwork.engines.optimize import objective
from brushwork.evaluate import evaluate_many
from brushwork.sheet import make_sheet
from tune import diagonal_pairs

SIZE = 512
PASTICHE_STEPS = 20
OUT = RESULTS / "presets"
DOCS = ROOT / "docs" / "presets"

# (name, stylize() overrides), in the order of the table and the sheet.
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("fast", {"method": "fast"}),
    *[(name, {"quality": name}) for name in QUALITY_PRESETS],
    # a direction measured alone: the presets start their coarsest scale from the fast engine's picture
    ("normal from the photo", {"quality": "normal", "init": "content"}),
    # Before issue 18: draft was the fast picture + 10 iterations at 512 px, normal 30/30/25 L-BFGS
    # iterations at 128/256/512 px, every scale with the full objective, and each scale's L-BFGS took
    # torch's own first step (FIRST_STEP 0).
    ("draft before", {"quality": "draft", "init": "fast", "pyramid_start": 512, "forms_size": 0,
                      "coarse_steps": 10, "steps": 10}),
    ("normal before", {"quality": "normal", "forms_size": 0, "coarse_steps": 30, "steps": 25}),
]  # fmt: skip
REFERENCE = "normal before"


@contextlib.contextmanager
def as_it_was(name: str) -> Iterator[None]:
    """The "before" variants run with L-BFGS's first step as it was."""
    saved = objective.FIRST_STEP
    objective.FIRST_STEP = 0.0 if name.endswith("before") else saved
    try:
        yield
    finally:
        objective.FIRST_STEP = saved


def warm_up() -> None:
    """Build both engines' networks once, so that no timed run pays for it."""
    content, style = diagonal_pairs()[0]
    brushwork.stylize(content, style, size=64, method="fast")
    brushwork.stylize(content, style, size=64, steps=1, coarse_steps=1)


def run_pastiche(
    content: Path, style: Path, size: tuple[int, int], folder: Path, keep: tuple[int, ...]
) -> dict[int, tuple[np.ndarray, float]]:
    """pastiche's default run on pictures already at ``size``: its picture and the seconds since its
    construction after each of the ``keep`` numbers of L-BFGS steps."""
    from pastiche.pastiche import PasticheArtist

    from brushwork.features.vgg import from_caffe

    content_png, style_png = folder / "pastiche_content.png", folder / "pastiche_style.png"
    imageio.write_image(content_png, imageio.resize(imageio.read_image(content).rgb, size))
    imageio.write_image(style_png, imageio.resize(imageio.read_image(style).rgb, size))
    width, height = size
    started = time.perf_counter()
    artist = PasticheArtist(
        str(content_png), [str(style_png)], size=(height, width), device="cpu", pooling="max"
    )
    kept = {}
    for step in range(1, max(keep) + 1):
        artist.draw()
        if step in keep:
            seconds = time.perf_counter() - started
            picture = from_caffe(artist.pastiche.detach())[0].permute(1, 2, 0).clamp(0, 1).numpy()
            kept[step] = (np.ascontiguousarray(picture, dtype=np.float32), seconds)
            print(f"{content.stem}: pastiche {step} steps at {seconds:.0f} s", flush=True)
    return kept


def run_long_pastiche(contents: list[str], steps: int) -> None:
    """pastiche for ``steps`` steps (its converged picture, the quality bar) on the pairs of ``contents``;
    its time is not compared (run it beside other work if need be), only its picture's scores. Writes
    results/presets_long.json, which the report (and BENCHMARKS.md) puts beside the presets."""
    info = machine()
    rows: list[dict[str, Any]] = []
    for content, style in diagonal_pairs():
        if content.stem not in contents:
            continue
        folder = OUT / content.stem
        folder.mkdir(parents=True, exist_ok=True)
        final = imageio.fit_long_side(imageio.read_image(content).size, SIZE)
        kept = run_pastiche(content, style, final, folder, (PASTICHE_STEPS, 100, 300, steps))
        evaluations = evaluate_many(content, [style], [picture for picture, _ in kept.values()])
        for (count, (picture, seconds)), evaluation in zip(kept.items(), evaluations, strict=True):
            name = f"pastiche {count}"
            imageio.write_image(folder / f"{name.replace(' ', '_')}.png", picture)
            row = {"variant": name, "content": content.stem, "style": style.stem, "seconds": seconds}
            rows.append({**row, **evaluation.to_dict()})
    write_json("presets_long", {"machine": info, "size": SIZE, "steps": steps, "rows": rows})


def run(pairs: int, pastiche_pairs: int) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    scores = OUT / "scores.jsonl"
    done = (
        {(r["content"], r["variant"]) for r in map(json.loads, scores.open())} if scores.exists() else set()
    )
    (OUT / "machine.json").write_text(json.dumps({**machine(), "load_start": load()}, indent=2) + "\n")
    warm_up()
    for index, (content, style) in enumerate(diagonal_pairs()[:pairs]):
        records: list[tuple[str, np.ndarray, float]] = []
        for name, overrides in VARIANTS:
            if (content.stem, name) in done:
                continue
            with as_it_was(name):
                result = brushwork.stylize(content, style, settings=Settings(size=SIZE, seed=0, **overrides))
            records.append((name, result.image, result.timings["total"]))
            print(f"{content.stem} × {style.stem}, {name}: {result.timings['total']:.1f} s", flush=True)
        folder = OUT / content.stem
        folder.mkdir(parents=True, exist_ok=True)
        if index < pastiche_pairs and (content.stem, "pastiche 20") not in done:
            final = imageio.fit_long_side(imageio.read_image(content).size, SIZE)
            picture, seconds = run_pastiche(content, style, final, folder, (PASTICHE_STEPS,))[PASTICHE_STEPS]
            records.append((f"pastiche {PASTICHE_STEPS}", picture, seconds))
        if not records:
            continue
        evaluations = evaluate_many(content, [style], [image for _, image, _ in records])
        with scores.open("a") as handle:
            for (name, image, seconds), evaluation in zip(records, evaluations, strict=True):
                imageio.write_image(folder / f"{name.replace(' ', '_')}.png", image)
                row = {"variant": name, "content": content.stem, "style": style.stem, "seconds": seconds}
                handle.write(json.dumps({**row, **evaluation.to_dict()}) + "\n")
    (OUT / "machine.json").write_text(
        json.dumps({**json.loads((OUT / "machine.json").read_text()), "load_end": load()}, indent=2) + "\n"
    )


def report() -> None:
    rows = [json.loads(line) for line in (OUT / "scores.jsonl").open()]
    data = {"machine": json.loads((OUT / "machine.json").read_text()), "size": SIZE, "rows": rows}
    write_json("presets", data)
    long = read_json("presets_long") if (RESULTS / "presets_long.json").exists() else None
    long_rows = long["rows"] if long else []
    text = section(data, long)
    DOCS.mkdir(parents=True, exist_ok=True)
    print(text)
    names = [name for name, _ in VARIANTS] + [f"pastiche {PASTICHE_STEPS}"]
    by_name = {name: [r for r in rows if r["variant"] == name] for name in names}
    plot({name: means(group) for name, group in by_name.items() if group})
    longest = [f"pastiche {n}" for n in (1000,) if long_rows]
    sheet(rows, [name for name in names if by_name[name]] + longest)


def iterations(preset: str) -> str:
    """The preset's iterations at 128 / 256 / 512 px, as the README's table shows them."""
    sizes = [(128, 96), (256, 192), (512, 384)]
    return " / ".join(map(str, Settings(quality=preset, size=512).steps_per_scale(sizes)))


def means(group: list[dict[str, Any]]) -> dict[str, float]:
    keys = ("seconds", "forms_gram", "style_gram", "ssim", "content_error")
    return {key: statistics.mean(r[key] for r in group) for key in keys}


def section(data: dict[str, Any], long: dict[str, Any] | None = None) -> str:
    """BENCHMARKS.md's tables: every variant's means over the pairs, and beside pastiche's long run
    (``long``: presets_long.json, from ``--long-pastiche``), where there is one."""
    rows = data["rows"]
    names = [name for name, _ in VARIANTS] + [f"pastiche {PASTICHE_STEPS}"]
    by_name = {name: [r for r in rows if r["variant"] == name] for name in names}
    reference = {r["content"]: r for r in by_name[REFERENCE]}
    pastiche = {r["content"]: r for r in by_name[f"pastiche {PASTICHE_STEPS}"]}
    lines = []
    for name in names:
        group = by_name[name]
        if not group:
            continue
        mean = means(group)
        forms_wins = sum(r["forms_gram"] <= reference[r["content"]]["forms_gram"] for r in group)
        gram_wins = sum(r["style_gram"] <= reference[r["content"]]["style_gram"] for r in group)
        time_ratio = statistics.mean(r["seconds"] / reference[r["content"]]["seconds"] for r in group)
        shared = [r for r in group if r["content"] in pastiche]
        to_pastiche = (
            f"{statistics.mean(r['seconds'] / pastiche[r['content']]['seconds'] for r in shared):.2f}x"
            if shared
            else "-"
        )
        lines.append(
            [
                f"**{name}**" if name in QUALITY_PRESETS else name,
                str(len(group)),
                f"{mean['seconds']:.2f}",
                f"{time_ratio:.2f}x",
                to_pastiche,
                f"{mean['forms_gram']:.3f}",
                f"{forms_wins}/{len(group)}",
                f"{mean['style_gram']:.3f}",
                f"{gram_wins}/{len(group)}",
                f"{mean['ssim']:.3f}",
                f"{mean['content_error']:.3f}",
            ]
        )
    header = [
        "variant", "pairs", "seconds (mean)", f"time / {REFERENCE}",
        f"time / pastiche {PASTICHE_STEPS} (same pairs)",
        "large forms ↓", f"forms ≤ {REFERENCE}", "Gram (full size) ↓", f"Gram ≤ {REFERENCE}", "SSIM ↑",
        "content error ↓",
    ]  # fmt: skip
    return table(header, lines) + "\n" + long_pastiche_table(rows, long["rows"] if long else [])


def speed_rows(by_name: dict[str, list[dict[str, Any]]]) -> str:
    """The README's speed-table rows for the 512 px presets: mean (fastest to slowest) seconds."""

    def seconds(name: str) -> str:
        times = [r["seconds"] for r in by_name.get(name, [])]
        if not times:
            return "-"
        return f"{statistics.mean(times):.2g} ({min(times):.2g}–{max(times):.2g})"

    presets = ["fast", *QUALITY_PRESETS]
    before = ["draft before", "normal before", f"pastiche {PASTICHE_STEPS}"]
    return (
        f"| {SIZE} px picture inside `stylize()`: {' / '.join(presets)}, mean (range) over "
        f"{len(by_name['fast'])} pairs | {' / '.join(seconds(name) for name in presets)} |\n"
        f"| the same pairs: draft / normal as they were before December 2026, pastiche's "
        f"{PASTICHE_STEPS} steps | {' / '.join(seconds(name) for name in before)} |\n"
    )


def long_pastiche_table(rows: list[dict[str, Any]], long_rows: list[dict[str, Any]]) -> str:
    """The presets beside pastiche's long runs (its converged picture: the quality bar), pair by pair."""
    if not long_rows:
        return ""
    lines = []
    for content in dict.fromkeys(r["content"] for r in long_rows):
        converged = max(
            (r for r in long_rows if r["content"] == content), key=lambda r: int(r["variant"][9:])
        )
        for row in [r for r in long_rows if r["content"] == content] + [
            r for r in rows if r["content"] == content and r["variant"] in QUALITY_PRESETS
        ]:
            lines.append(
                [
                    f"{content} / {row['style']}",
                    row["variant"],
                    f"{row['forms_gram']:.3f}",
                    "yes" if row["forms_gram"] <= converged["forms_gram"] else "no",
                    f"{row['style_gram']:.3f}",
                    f"{row['ssim']:.3f}",
                    f"{row['ssim'] / converged['ssim']:.2f}",
                ]
            )
    header = [
        "pair", "picture", "large forms ↓", "forms ≤ pastiche's longest", "Gram ↓", "SSIM ↑",
        "SSIM / pastiche's longest",
    ]  # fmt: skip
    return (
        "\npastiche's long run (its pictures after 20, 100, 300 and 1000 L-BFGS steps; not timed, since it "
        "ran beside other work) beside the presets on the same pair:\n\n" + table(header, lines) + "\n"
    )


def plot(means: dict[str, dict[str, float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for axis, key, label in (
        (axes[0], "forms_gram", "large-form distance (Gram at 1/4 size) ↓"),
        (axes[1], "style_gram", "Gram distance at full size ↓"),
    ):
        for name, mean in means.items():
            preset = name in QUALITY_PRESETS
            axis.scatter(mean["seconds"], mean[key], color="C0" if preset else "C7", zorder=3)
            axis.annotate(name, (mean["seconds"], mean[key]), textcoords="offset points", xytext=(4, 4))
        axis.set_xscale("log")
        axis.set_xlabel(f"seconds at {SIZE} px (mean over the pairs)")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(DOCS / "presets.png", dpi=110)


def sheet(rows: list[dict[str, Any]], names: list[str]) -> None:
    contents = list(dict.fromkeys(r["content"] for r in rows))
    cells = []
    for content in contents:
        files = [OUT / content / f"{name.replace(' ', '_')}.png" for name in names]
        cells.append([file if file.exists() else None for file in files])
    styles = {r["content"]: r["style"] for r in rows}
    photos = {content.stem: content for content, _ in diagonal_pairs()}
    image = make_sheet(
        cells,  # type: ignore[arg-type]
        row_images=[photos[c] for c in contents],
        row_labels=[f"{c} / {styles[c]}" for c in contents],
        col_labels=names,
        cell_size=260,
    )
    width = 1600
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    image.convert("RGB").save(DOCS / "presets.jpg", quality=88, optimize=True)


def main() -> None:
    global SIZE, OUT, DOCS
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=7, help="how many of the diagonal pairs (1-7)")
    parser.add_argument("--pastiche", type=int, default=3, help="on how many of them to run pastiche")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument(
        "--long-pastiche",
        metavar="CONTENTS",
        help="only run pastiche for --long-steps on the pairs of these photos (comma-separated stems)",
    )
    parser.add_argument("--long-steps", type=int, default=1000)
    parser.add_argument("--size", type=int, default=512, help="long side (a smaller one: a quick check)")
    parser.add_argument("--out", type=Path, default=None, help="results and report folder")
    args = parser.parse_args()
    SIZE = args.size
    if args.out is not None:
        OUT, DOCS = args.out, args.out / "docs"
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.long_pastiche:
        OUT.mkdir(parents=True, exist_ok=True)
        run_long_pastiche(args.long_pastiche.split(","), args.long_steps)
        return None
    if not args.report_only:
        run(args.pairs, args.pastiche)
    report()
    return None


if __name__ == "__main__":
    sys.exit(main())
