"""Race against the PyPI package ``pastiche`` on the same objective: who reaches the same loss first?

Both tools get the same content and style pictures, resized once here to the same size and saved as
PNG, so neither resizes them again: the content at ``--size`` long side (both sides divisible by 16,
so that max pooling with floor (pastiche) and ceil (brushwork) rounding see the same shapes), the style
centre-cropped to the content's aspect ratio and resized to the content's size (both tools show the
style at the content's pixel count, so that is its size in both).

The objective is pastiche's default: content relu4_2 (``block4_relu2``) with weight 0.01 and plain
mean squared error, Gram mean squared error on relu1_1 ... relu5_1 with weights 10 / C^2, no total
variation, max pooling, zero padding, content initialisation, L-BFGS, float32. It is checked by
evaluating both implementations on the same tensors (the start image and pastiche's final image).

Pastiche runs for up to ``--steps`` L-BFGS iterations (one loss evaluation each) or until
``--budget`` seconds; its loss at the last iteration is the target. brushwork then runs the same
objective (a) at the final size only and (b) with its default coarse-to-fine pyramid, stopping when
a loss evaluated at the final size first reaches the target, or at 1.25 times pastiche's time.
Times count from the start of each tool's work (constructor / ``stylize()`` call), so they include
loading the weights.

    python benchmarks/race_pastiche.py [--size 384] [--steps 300] [--budget 360]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from _common import CONTENT, RESULTS, STYLE, load, machine, median, table, write_json
from brushwork import Progress, Settings, imageio, stylize
from brushwork.device import preferred_memory_format
from brushwork.engines.optimize.engine import pyramid_sizes
from brushwork.engines.optimize.objective import Objective, style_statistics
from brushwork.features import VGG19Features, find_weights, from_caffe, load_weights, to_caffe

RACE_DIR = RESULTS / "race"
TARGET_SPEEDUP = 4.0
AGREEMENT_TOLERANCE = 1e-4  # relative
TIME_CAP_FACTOR = 1.25  # brushwork's time limit, relative to pastiche's time


def race_settings() -> Settings:
    """pastiche's default objective, written as brushwork settings."""
    return Settings(
        normalize_losses=False,
        content_weight=0.01,
        style_weight=1.0,
        style_layer_weights=tuple(10 / channels**2 for channels in (64, 128, 256, 512, 512)),
        tv_weight=0.0,
        padding="zeros",
        pooling="max",
        init="content",
        precision="fp32",
        optimizer="lbfgs",
    )


def prepare_images(long_side: int) -> tuple[Path, Path, tuple[int, int]]:
    content = imageio.read_image(CONTENT)
    width, height = imageio.fit_long_side(content.size, long_side)
    if width % 16 or height % 16:
        raise SystemExit(
            f"{width}x{height}: both sides must be divisible by 16, or the two tools' max pooling "
            "(pastiche floors odd sizes, brushwork ceils them) would compute different objectives"
        )
    style = imageio.read_image(STYLE)
    rows, cols = style.rgb.shape[:2]
    crop = round(rows * width / height)
    if crop <= cols:
        left = (cols - crop) // 2
        cropped = style.rgb[:, left : left + crop]
    else:
        crop = round(cols * height / width)
        top = (rows - crop) // 2
        cropped = style.rgb[top : top + crop]
    RACE_DIR.mkdir(parents=True, exist_ok=True)
    content_png, style_png = RACE_DIR / "content.png", RACE_DIR / "style.png"
    imageio.write_image(content_png, imageio.resize(content.rgb, (width, height)))
    imageio.write_image(style_png, imageio.resize(cropped, (width, height)))
    return content_png, style_png, (width, height)


def caffe_tensor(path: Path) -> torch.Tensor:
    rgb = imageio.read_image(path).rgb
    return to_caffe(torch.from_numpy(rgb).permute(2, 0, 1)[None].contiguous())


def brushwork_objective(content_png: Path, style_png: Path, settings: Settings) -> Objective:
    """The objective brushwork optimises at the final size (no resizing: the PNGs are at that size),
    built as ``stylize()`` builds it, in the device's preferred memory layout."""
    layout = preferred_memory_format(torch.device("cpu"))
    net = VGG19Features(
        load_weights(find_weights()),
        settings.content_layers + settings.style_layers,
        pooling=settings.pooling,
        padding=settings.padding,
    ).to(memory_format=layout)  # type: ignore[call-overload]
    style = caffe_tensor(style_png).contiguous(memory_format=layout)
    stats = style_statistics(net, [style], (1.0,), settings, torch.float32)
    content = caffe_tensor(content_png).contiguous(memory_format=layout)
    return Objective(net, settings, content, stats, torch.float32, layout)


def evaluation_costs(artist: Any, objective: Objective, image: torch.Tensor, rounds: int) -> dict[str, Any]:
    """Seconds of one loss evaluation (forward + backward) of each tool on the same image, alternating
    between the two so that a change in the machine's load hits both alike; one warm-up round."""
    costs: dict[str, list[float]] = {"pastiche": [], "brushwork": []}
    for round_index in range(rounds + 1):
        artist.pastiche.data.copy_(image)
        artist.optimizer.zero_grad()
        started = time.perf_counter()
        artist._calc_loss().backward()
        pastiche_s = time.perf_counter() - started
        x = image.clone().requires_grad_(True)
        started = time.perf_counter()
        objective(x)[0].backward()
        brushwork_s = time.perf_counter() - started
        if round_index:
            costs["pastiche"].append(pastiche_s)
            costs["brushwork"].append(brushwork_s)
    return {
        "samples": costs,
        "pastiche": median(costs["pastiche"]),
        "brushwork": median(costs["brushwork"]),
        "load": load(),
    }


@contextlib.contextmanager
def legacy_torch_load() -> Iterator[None]:
    """pastiche calls ``torch.load`` without ``weights_only``; should a torch refuse its file with the
    safe default, this allows the old behaviour for the duration of the call only."""
    original = torch.load
    torch.load = functools.partial(original, weights_only=False)
    try:
        yield
    finally:
        torch.load = original


@dataclass
class PasticheRun:
    artist: Any
    setup_s: float
    curve: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, loss)
    torch_load_patched: bool = False


def run_pastiche(
    content_png: Path, style_png: Path, size: tuple[int, int], steps: int, budget: float
) -> PasticheRun:
    from pastiche.pastiche import PasticheArtist

    width, height = size
    patched = False
    started = time.perf_counter()

    def make() -> Any:
        return PasticheArtist(
            str(content_png), [str(style_png)], size=(height, width), device="cpu", pooling="max"
        )

    try:
        artist = make()
    except Exception as error:  # a torch that refuses the pickled file raises UnpicklingError
        if "weights_only" not in str(error):
            raise
        patched = True
        started = time.perf_counter()
        with legacy_torch_load():
            artist = make()
    if artist.content_size != [height, width] or artist.style_sizes != [[height, width]]:
        raise RuntimeError(f"pastiche resized the pictures: {artist.content_size}, {artist.style_sizes}")
    run = PasticheRun(artist, time.perf_counter() - started, torch_load_patched=patched)
    for step in range(steps):
        artist.draw()  # one L-BFGS iteration = one loss evaluation; artist.loss is that evaluation's
        elapsed = time.perf_counter() - started
        run.curve.append((elapsed, float(artist.loss)))
        if step % 25 == 0:
            print(f"  pastiche step {step + 1}: {artist.loss:.6g} at {elapsed:.1f} s", flush=True)
        if elapsed > budget:
            break
    return run


class _Stop(Exception):
    pass


@dataclass
class BrushworkRun:
    label: str
    records: list[dict[str, Any]] = field(default_factory=list)
    reached_s: float | None = None
    reached_index: int | None = None
    stopped_by: str = "steps"
    final_size: tuple[int, int] | None = None


def run_brushwork(
    label: str,
    content_png: Path,
    style_png: Path,
    settings: Settings,
    target: float,
    time_cap: float,
) -> BrushworkRun:
    run = BrushworkRun(label)
    last: list[Progress] = []
    started = time.perf_counter()

    def callback(progress: Progress) -> None:
        elapsed = time.perf_counter() - started
        final = progress.scale == progress.scales
        loss = progress.losses["total"]
        run.records.append({"s": elapsed, "loss": loss, "scale": progress.scale, "final": final})
        last[:] = [progress]
        if final:
            run.final_size = progress.size
            if loss <= target:
                run.reached_s, run.reached_index = elapsed, len(run.records)
                run.stopped_by = "target"
                raise _Stop
        if elapsed > time_cap:
            run.stopped_by = "time cap"
            raise _Stop

    with contextlib.suppress(_Stop):
        stylize(content_png, style_png, settings=settings, callback=callback)
    if last:
        imageio.write_image(RACE_DIR / f"brushwork_{label}.png", last[0].image())
    return run


def relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-30)


def agreement(artist: Any, objective: Objective, image: torch.Tensor) -> dict[str, float]:
    """Both implementations' total loss on the same Caffe-space tensor."""
    with torch.no_grad():
        artist.pastiche.data.copy_(image)
        theirs = float(artist._calc_loss())
        ours = float(objective(image.clone())[0])
    return {"pastiche": theirs, "brushwork": ours, "relative_difference": relative(theirs, ours)}


def first_at_or_below(curve: list[tuple[float, float]], target: float) -> tuple[float, int]:
    for index, (seconds, loss) in enumerate(curve):
        if loss <= target:
            return seconds, index + 1
    raise ValueError("target never reached")


def run(size: int, steps: int, budget: float) -> dict[str, Any]:
    settings = race_settings()
    content_png, style_png, shape = prepare_images(size)
    print(f"race at {shape[0]}x{shape[1]}, up to {steps} pastiche steps or {budget:.0f} s", flush=True)
    loads = {"start": load()}

    pastiche = run_pastiche(content_png, style_png, shape, steps, budget)
    loads["after_pastiche"] = load()
    target = pastiche.curve[-1][1]
    pastiche_reached_s, pastiche_reached_n = first_at_or_below(pastiche.curve, target)
    final_image = pastiche.artist.pastiche.detach().clone()
    imageio.write_image(RACE_DIR / "pastiche.png", from_caffe(final_image)[0].permute(1, 2, 0).numpy())

    objective = brushwork_objective(content_png, style_png, settings)
    start_image = pastiche_start_image(content_png, shape)
    agree = {
        "input_max_abs_difference": float((start_image - caffe_tensor(content_png)).abs().max()),
        "start": agreement(pastiche.artist, objective, start_image),
        "pastiche_final": agreement(pastiche.artist, objective, final_image),
        "pastiche_initial_loss": pastiche_initial_loss(pastiche),
    }
    costs = evaluation_costs(pastiche.artist, objective, final_image, rounds=3)
    del pastiche.artist, objective
    gc.collect()

    # brushwork gets a little longer than pastiche took (so that a loss shows by how much), and up to
    # three times pastiche's evaluations at the final size.
    time_cap = TIME_CAP_FACTOR * pastiche.curve[-1][0]
    common = settings.replace(size=max(shape), steps=3 * len(pastiche.curve))
    flat = run_brushwork("flat", content_png, style_png, common.replace(pyramid=False), target, time_cap)
    loads["after_flat"] = load()
    pyramid = run_brushwork("pyramid", content_png, style_png, common.replace(pyramid=True), target, time_cap)
    loads["after_pyramid"] = load()
    for r in (flat, pyramid):
        if r.final_size is not None and tuple(r.final_size) != shape:
            raise RuntimeError(f"brushwork worked at {r.final_size}, not at the pictures' size {shape}")

    return {
        "machine": machine(),
        "size": list(shape),
        "steps_asked": steps,
        "budget_s": budget,
        "time_cap_s": time_cap,
        "settings": settings.to_dict(),
        "agreement": agree,
        "evaluation_costs": costs,
        "torch_load_patched": pastiche.torch_load_patched,
        "pastiche": {
            "setup_s": pastiche.setup_s,
            "steps": len(pastiche.curve),
            "target_loss": target,
            "last_step_s": pastiche.curve[-1][0],
            "reached_s": pastiche_reached_s,
            "reached_evaluations": pastiche_reached_n,
            "optimize_reached_s": pastiche_reached_s - pastiche.curve[0][0],
            "seconds_per_evaluation": median(b[0] - a[0] for a, b in itertools.pairwise(pastiche.curve)),
            "curve": pastiche.curve,
        },
        "brushwork": {
            r.label: summarize(r, pastiche_reached_s, pastiche_reached_s - pastiche.curve[0][0])
            for r in (flat, pyramid)
        },
        "pyramid_scales": sorted({rec["scale"] for rec in pyramid.records}),
        "loads": loads,
        "target_speedup": TARGET_SPEEDUP,
    }


def pastiche_start_image(content_png: Path, shape: tuple[int, int]) -> torch.Tensor:
    from pastiche.pastiche import load_image

    image: torch.Tensor = load_image(str(content_png), size=(shape[1], shape[0]))
    return image


def pastiche_initial_loss(run: PasticheRun) -> float:
    """The first evaluation of the race (content initialisation), as pastiche recorded it."""
    return run.curve[0][1]


def summarize(run: BrushworkRun, pastiche_s: float, pastiche_optimize_s: float) -> dict[str, Any]:
    """Speed-ups count from each tool's start; the ``optimize_`` ones from its first evaluation."""
    final = [r for r in run.records if r["final"]]
    optimize_s = run.reached_s - run.records[0]["s"] if run.reached_s else None
    steps = [b["s"] - a["s"] for a, b in itertools.pairwise(final)]
    return {
        "stopped_by": run.stopped_by,
        "evaluations": len(run.records),
        "final_size_evaluations": len(final),
        "final_size": list(run.final_size) if run.final_size else None,
        "first_final_loss": final[0]["loss"] if final else None,
        "best_final_loss": min(r["loss"] for r in final) if final else None,
        "reached_s": run.reached_s,
        "reached_evaluations": run.reached_index,
        "speedup": pastiche_s / run.reached_s if run.reached_s else None,
        "optimize_reached_s": optimize_s,
        "optimize_speedup": pastiche_optimize_s / optimize_s if optimize_s else None,
        "seconds_per_evaluation": median(steps) if steps else None,
        "records": run.records,
    }


def work(data: dict[str, Any], label: str, count: int | None = None) -> float | None:
    """The first ``count`` evaluations (default: those up to the target), each counted by its pixels
    relative to the final size: a measure of the work done that the machine's load does not change."""
    b = data["brushwork"][label]
    count = count or b["reached_evaluations"]
    if not count:
        return None
    final = (data["size"][0], data["size"][1])
    sizes = pyramid_sizes(final, data["settings"].get("pyramid_start", 128), label == "pyramid")
    pixels = [w * h / (final[0] * final[1]) for w, h in sizes]
    return float(sum(pixels[r["scale"] - 1] for r in b["records"][:count]))


def estimated_speedup(data: dict[str, Any], label: str) -> float | None:
    """Optimization speed-up from load-independent parts: work to the target (in final-size
    evaluations) times the cost of one evaluation, the costs measured alternately. Counting coarse
    evaluations by their pixels slightly flatters the pyramid (small images use the CPU less well)."""
    equivalent = work(data, label)
    costs = data.get("evaluation_costs")
    if equivalent is None or not costs:
        return None
    pastiche = data["pastiche"]["reached_evaluations"] * costs["pastiche"]
    return float(pastiche / (equivalent * costs["brushwork"]))


MILESTONES = (10, 25, 50, 100, 150, 200, 250)


def render_milestones(data: dict[str, Any]) -> str:
    """For pastiche's loss after k steps, for several k: how long and how much work each run took."""
    curve = data["pastiche"]["curve"]
    steps = sorted({k for k in MILESTONES if k < len(curve)} | {len(curve)})
    rows = []
    for k in steps:
        loss = curve[k - 1][1]
        pastiche_s, pastiche_n = first_at_or_below(curve, loss)
        row = [str(k), f"{loss:.6g}", f"{pastiche_s:.0f}"]
        for label in ("flat", "pyramid"):
            records = data["brushwork"][label]["records"]
            hit = next((i for i, r in enumerate(records) if r["final"] and r["loss"] <= loss), None)
            if hit is None:
                row.append("not reached")
                continue
            seconds = records[hit]["s"]
            equivalent = work(data, label, hit + 1) or 1.0
            row.append(
                f"{seconds:.0f} s, {hit + 1} evals: {pastiche_s / seconds:.2f}x time, "
                f"{pastiche_n / equivalent:.2f}x work"
            )
        rows.append(row)
    header = [
        "pastiche steps",
        "its loss",
        "pastiche s",
        "brushwork, final size only",
        "brushwork, default pyramid",
    ]
    return table(header, rows)


def render(data: dict[str, Any]) -> str:
    p = data["pastiche"]
    width, height = data["size"]
    rows = [
        [
            f"pastiche 1.6.0, {p['steps']} L-BFGS steps",
            f"{width}x{height}",
            str(p["reached_evaluations"]),
            f"{p['reached_evaluations']} (1.0x)",
            f"{p['seconds_per_evaluation']:.2f}",
            f"{p['reached_s']:.1f} ({p['setup_s']:.1f} setup)",
            f"{p['optimize_reached_s']:.1f}",
            "1.0x",
            "1.0x",
        ]
    ]
    for label, name in (("flat", "brushwork, final size only"), ("pyramid", "brushwork, default pyramid")):
        b = data["brushwork"][label]
        scales = "x".join(map(str, data["size"]))
        if label == "pyramid":
            scales = f"{len(data['pyramid_scales'])} scales up to {scales}"
        if b["reached_s"]:
            evals = f"{b['reached_evaluations']} ({b['final_size_evaluations']} at final size)"
            seconds, optimize = f"{b['reached_s']:.1f}", f"{b['optimize_reached_s']:.1f}"
            speedup, optimize_speedup = f"{b['speedup']:.2f}x", f"{b['optimize_speedup']:.2f}x"
        else:
            best = b["best_final_loss"]
            evals = f"not reached in {b['evaluations']}" + (f" (best {best:.6g})" if best else "")
            seconds = optimize = f"> {data.get('time_cap_s', p['last_step_s']):.0f} (cap)"
            speedup = optimize_speedup = "< 1x"
        per_eval = b["seconds_per_evaluation"]
        equivalent = work(data, label)
        rows.append(
            [
                name,
                scales,
                evals,
                f"{equivalent:.1f} ({p['reached_evaluations'] / equivalent:.2f}x)" if equivalent else "-",
                f"{per_eval:.2f}" if per_eval else "-",
                seconds,
                optimize,
                speedup,
                optimize_speedup,
            ]
        )
    header = [
        "run",
        "size",
        "evaluations to target",
        "work to target in final-size evaluations (pastiche / this)",
        "s per evaluation at final size",
        "s to target from start",
        "s to target from 1st evaluation",
        "speed-up (from start)",
        "speed-up (optimization only)",
    ]
    return table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=384, help="long side in pixels (sides divisible by 16)")
    parser.add_argument("--steps", type=int, default=300, help="pastiche L-BFGS iterations at most")
    parser.add_argument("--budget", type=float, default=360.0, help="pastiche seconds at most")
    args = parser.parse_args()
    data = run(args.size, args.steps, args.budget)
    path = write_json("race", data)
    agree = data["agreement"]
    for key in ("start", "pastiche_final"):
        print(f"objective agreement ({key}): {agree[key]}")
    print(f"target loss: {data['pastiche']['target_loss']:.6g}")
    print(render(data))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
