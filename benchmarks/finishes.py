"""How to finish the last scale cheaply: from one forms result, each finish measured per evaluation.

    python benchmarks/finishes.py --pairs 0,6          # diagonal pairs by index (tune.diagonal_pairs)

The painting's large forms are made at 128-256 px; what the 512 px scale adds is detail. This paints
each pair with the forms scales only (60 iterations at 128 px, 15 at 256 px), enlarges the result to
512 px, and then finishes it in each of these ways, scoring the picture after every evaluation:

- enlarged only (bicubic);
- the fast engine painting the enlarged picture at strength 0.15 and 0.25;
- Adam at learning rates 4, 8 and 12 (grey levels), 6 steps;
- L-BFGS with torch's own first step (a single grey level over the whole picture) and with a first step
  of 2 and 4 grey levels per value (brushwork.engines.optimize.objective.FIRST_STEP), 8 steps.

It prints the table and writes results/finishes.json. Scores: brushwork.evaluate
(large forms = Gram distance at 1/4 size; Gram at full size; SSIM; content error).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import torch

import brushwork
from _common import machine, table, write_json
from brushwork.config import Settings
from brushwork.engines.feedforward.engine import paint
from brushwork.engines.optimize.engine import style_size
from brushwork.engines.optimize.objective import Objective, resize_caffe, style_statistics
from brushwork.evaluate import evaluate_many
from brushwork.features import VGG19Features, find_weights, load_weights
from brushwork.features.vgg import from_caffe, to_caffe
from brushwork.imageio import fit_long_side, read_image, resize
from brushwork.progress import to_numpy, to_tensor
from tune import diagonal_pairs

SIZE = 512
CPU = torch.device("cpu")


def finishes(content_path: Any, style_path: Any) -> dict[str, torch.Tensor]:
    """Every finished picture (Caffe space, 512 px), keyed by finish and evaluation count."""
    final = fit_long_side(read_image(content_path).size, SIZE)
    forms = brushwork.stylize(content_path, style_path, size=SIZE // 2, seed=0, coarse_steps=60).image
    settings = Settings()
    net = VGG19Features(
        load_weights(find_weights(None)), settings.content_layers + settings.style_layers,
        padding=settings.padding,
    ).to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # fmt: skip
    content = to_caffe(to_tensor(resize(read_image(content_path).rgb, final), CPU))
    style = to_caffe(to_tensor(read_image(style_path).rgb, CPU))
    style = resize_caffe(style, style_size((style.shape[-1], style.shape[-2]), final, 1.0))
    stats = style_statistics(
        net, [style.contiguous(memory_format=torch.channels_last)], [1.0], settings, torch.bfloat16
    )
    objective = Objective(
        net, settings, content.contiguous(memory_format=torch.channels_last), stats, torch.bfloat16,
        torch.channels_last,
    )  # fmt: skip
    start = resize_caffe(to_caffe(to_tensor(forms, CPU)), final)
    pictures = {"enlarged": start}
    painting = to_tensor(read_image(style_path).rgb, CPU)
    for strength in (0.15, 0.25):
        fast = paint(
            from_caffe(start).clamp(0, 1), [painting], [1.0], Settings(method="fast", strength=strength)
        )
        pictures[f"fast network {strength:g}"] = to_caffe(fast)

    def run(
        name: str, make: Callable[[torch.Tensor], torch.optim.Optimizer], steps: int, scale: float
    ) -> None:
        x = start.clone().requires_grad_(True)
        optimizer = make(x)

        def closure() -> torch.Tensor:
            return torch.tensor(objective.evaluate(x, scale)["total"] * scale)

        for step in range(1, steps + 1):
            optimizer.step(closure)
            if step == 1 and isinstance(optimizer, torch.optim.LBFGS):
                optimizer.param_groups[0]["lr"] = 1.0
            pictures[f"{name} {step}"] = x.detach().clone()

    positions = start.shape[-1] * start.shape[-2]
    for rate in (4.0, 8.0, 12.0):
        run(f"adam {rate:g}", lambda x, rate=rate: torch.optim.Adam([x], lr=rate), 6, 1.0)  # type: ignore[misc]
    for first in (0.0, 2.0, 4.0):
        run(
            f"lbfgs first {first:g}",
            lambda x, first=first: torch.optim.LBFGS(  # type: ignore[misc]
                [x],
                lr=first * x.numel() if first else 1.0,
                max_iter=1,
                max_eval=1,
                history_size=50,
                tolerance_grad=0.0,
                tolerance_change=0.0,
            ),
            8,
            positions,
        )
    return pictures


def section(data: dict[str, Any]) -> str:
    """One row per finish and evaluation count, one column group per pair."""
    pairs = list(dict.fromkeys((r["content"], r["style"]) for r in data["rows"]))
    finishes = list(dict.fromkeys(r["finish"] for r in data["rows"]))
    score = {(r["content"], r["finish"]): r for r in data["rows"]}
    rows = [
        [finish]
        + [
            "{forms_gram:.3f} / {style_gram:.3f} / {ssim:.3f}".format(**score[(content, finish)])
            for content, _ in pairs
        ]
        for finish in finishes
    ]
    header = [f"finish (and evaluations at {data['size']} px)"]
    header += [f"{content} / {style}: forms / Gram / SSIM" for content, style in pairs]
    return table(header, rows)


def main() -> None:
    global SIZE
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", default="0,6", help="indices into the diagonal pairs")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--size", type=int, default=SIZE, help="the finished picture's long side")
    args = parser.parse_args()
    SIZE = args.size
    if args.threads:
        torch.set_num_threads(args.threads)
    info, rows = machine(), []
    for index in map(int, args.pairs.split(",")):
        content, style = diagonal_pairs()[index]
        pictures = finishes(content, style)
        scores = evaluate_many(
            content, [style], [to_numpy(from_caffe(p).clamp(0, 1)) for p in pictures.values()]
        )
        rows += [
            {"finish": name, "content": content.stem, "style": style.stem, **score.to_dict()}
            for name, score in zip(pictures, scores, strict=True)
        ]
    data = {"machine": info, "size": SIZE, "rows": rows}
    write_json("finishes", data)
    print(section(data))


if __name__ == "__main__":
    main()
