"""The optimizer started from the fast engine's picture (``--init fast``) against today's presets.

    python benchmarks/hybrid.py --size 512 --out benchmarks/results/hybrid          # runs (resumable)
    python benchmarks/hybrid.py --size 512 --out benchmarks/results/hybrid --report docs/tuning/hybrid

For each of the seven diagonal pairs (each shared photo and painting once) it runs the draft and
normal presets from the photo, and one long single-scale run from the fast picture whose picture is
kept after 5, 10, 15, 20, 30 and 40 evaluations; every picture is scored with ``brushwork.evaluate``.
Work is counted in evaluations at the final size (a coarse scale of a quarter the pixels counts a
quarter), because seconds on a shared 2-core machine are noisy; seconds are recorded beside them.
The report says, per candidate, the mean scores and how many pairs it beats each preset on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import brushwork
from brushwork.config import Settings
from brushwork.engines.optimize.engine import pyramid_sizes
from brushwork.evaluate import evaluate_many
from brushwork.imageio import fit_long_side, read_image, write_image
from tune import diagonal_pairs

CHECKPOINTS = (5, 10, 15, 20, 30, 40)
# The presets as they were when this ran (draft has since become the fast picture + 10 iterations).
# Every scale in full (forms_size 0), as then; L-BFGS's first step has changed since (objective.FIRST_STEP).
PRESETS = {
    "draft": {"init": "content", "pyramid_start": 128, "coarse_steps": 30, "steps": 5, "forms_size": 0},
    "normal": {"coarse_steps": 30, "steps": 25, "forms_size": 0},
}


def final_size_work(settings: Settings, final: tuple[int, int]) -> float:
    sizes = pyramid_sizes(final, settings.first_scale, settings.pyramid)
    steps = settings.steps_per_scale(sizes)
    return sum(n * (w * h) / (final[0] * final[1]) for n, (w, h) in zip(steps, sizes, strict=True))


def run(out: Path, size: int, threads: int) -> None:
    torch.set_num_threads(threads)
    scores = out / "scores.jsonl"
    done = (
        {(r["content"], r["variant"]) for r in map(json.loads, scores.open())} if scores.exists() else set()
    )
    for content, style in diagonal_pairs():
        final = fit_long_side(read_image(content).size, size)
        records: list[tuple[str, np.ndarray, float, float]] = []
        if (content.stem, "fast") not in done:
            started = time.perf_counter()
            fast = brushwork.stylize(content, style, size=size, method="fast")
            records.append(("fast", fast.image, time.perf_counter() - started, 0.0))
        for name, overrides in PRESETS.items():
            if (content.stem, name) in done:
                continue
            settings = Settings(size=size, seed=0, **overrides)
            started = time.perf_counter()
            result = brushwork.stylize(content, style, settings=settings)
            records.append(
                (name, result.image, time.perf_counter() - started, final_size_work(settings, final))
            )
        if (content.stem, f"hybrid{CHECKPOINTS[-1]}") not in done:
            snapshots: list[tuple[str, np.ndarray, float, float]] = []

            def keep(
                p: brushwork.Progress, snapshots: list[tuple[str, np.ndarray, float, float]] = snapshots
            ) -> None:
                if p.tile is None and p.done in CHECKPOINTS:
                    snapshots.append((f"hybrid{p.done}", p.image(), p.elapsed, float(p.done)))

            settings = Settings(size=size, seed=0, init="fast", pyramid=False, steps=CHECKPOINTS[-1])
            brushwork.stylize(content, style, settings=settings, callback=keep)
            records.extend(snapshots)
        if not records:
            continue
        evaluations = evaluate_many(content, [style], [image for _, image, _, _ in records])
        folder = out / content.stem
        folder.mkdir(parents=True, exist_ok=True)
        for (name, image, seconds, work), evaluation in zip(records, evaluations, strict=True):
            write_image(folder / f"{name}.png", image)
            record = {
                "variant": name,
                "content": content.stem,
                "style": style.stem,
                "seconds": round(seconds, 2),
                "work": round(work, 2),
                **evaluation.to_dict(),
            }
            with scores.open("a") as handle:
                handle.write(json.dumps(record) + "\n")
            print(name, content.stem, style.stem, f"{seconds:.1f}s", f"gram {evaluation.style_gram:.3f}",
                  f"content {evaluation.content_error:.3f}", flush=True)  # fmt: skip


def report(out: Path, destination: Path) -> None:
    rows = [json.loads(line) for line in (out / "scores.jsonl").open()]
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_variant.setdefault(row["variant"], []).append(row)
    order = ["fast", "draft", "normal"] + [f"hybrid{n}" for n in CHECKPOINTS]
    lines = [
        "| variant | evaluations (final-size) | seconds | content error | SSIM | Gram "
        "| pairs with Gram and content error both ≤ draft / normal |",
        "|---|---|---|---|---|---|---|",
    ]
    reference = {name: {r["content"]: r for r in by_variant.get(name, [])} for name in PRESETS}
    for name in order:
        group = by_variant.get(name, [])
        if not group:
            continue
        beats = []
        for preset in PRESETS:
            wins = sum(
                1
                for r in group
                if r["content"] in reference[preset]
                and r["style_gram"] <= reference[preset][r["content"]]["style_gram"]
                and r["content_error"] <= reference[preset][r["content"]]["content_error"]
            )
            beats.append(f"{wins}/{len(group)}")
        mean = {
            k: statistics.mean(r[k] for r in group)
            for k in ("work", "seconds", "content_error", "ssim", "style_gram")
        }
        lines.append(
            f"| {name} | {mean['work']:.1f} | {mean['seconds']:.1f} | {mean['content_error']:.3f} | "
            f"{mean['ssim']:.3f} | {mean['style_gram']:.3f} | {' / '.join(beats)} |"
        )
    destination.mkdir(parents=True, exist_ok=True)
    (destination / "hybrid.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/hybrid"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--report", type=Path, default=None, help="summarise OUT into this folder")
    args = parser.parse_args()
    if args.report is not None:
        report(args.out, args.report)
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        run(args.out, args.size, args.threads)


if __name__ == "__main__":
    main()
