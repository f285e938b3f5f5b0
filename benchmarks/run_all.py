"""Run the three benchmarks one after another and write BENCHMARKS.md at the repository root.

    python benchmarks/run_all.py                 # everything (about 20-35 minutes on 2 busy cores)
    python benchmarks/run_all.py --render-only   # rewrite BENCHMARKS.md from benchmarks/results/*.json

Options after the script name are passed on: --race-size, --race-steps, --race-budget.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from typing import Any

import bench_end_to_end
import bench_speed
import race_pastiche
from _common import HERE, REFERENCE_FWD_BWD_512, ROOT, load, read_json, write_json

END_TO_END_TARGET_S = 30.0


def run_script(name: str, *args: str) -> float:
    print(f"=== {name} {' '.join(args)}", flush=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, str(HERE / name), *args], check=True)
    return time.perf_counter() - started


def machine_section(speed: dict[str, Any], meta: dict[str, Any]) -> str:
    m = speed["machine"]
    flags = ", ".join(m["cpu_flags"]) or "unknown"
    fp32_512 = next((row["fp32"]["median"] for row in speed["rows"] if row["size"] == 512), None)
    lines = [
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores (`torch.backends.cpu.get_cpu_capability()` = "
        f"{m['cpu_capability']}; vector flags: {flags})",
        f"- brushwork at commit {m.get('commit', '?')}"
        + (" with uncommitted changes in src/" if m.get("src_modified") else "")
        + f"; torch {m['torch']}, {m['torch_threads']} threads, Python {m['python']}; "
        f"bf16 native (`brushwork.device.bf16_supported`): {m['bf16_native']}",
        f"- Date: {meta.get('finished', m['date'])}; the full run took {meta.get('total_s', 0) / 60:.1f} min",
        f"- Load averages (1/5/15 min) at the start and end of the run: {meta.get('load_start', '?')} → "
        f"{meta.get('load_end', '?')}. The machine is shared with other jobs, so every figure here is "
        "noisy: read them as rough, and compare rows that were measured side by side.",
        "",
        "The issue assumed a Sapphire Rapids CPU with AVX-512 and AMX, where bf16 is native and "
        f"VGG19 forward + backward at 512 x 512 takes {REFERENCE_FWD_BWD_512['fp32']} s in fp32 and "
        f"{REFERENCE_FWD_BWD_512['bf16']} s in bf16. ",
    ]
    if m["bf16_native"]:
        lines[-1] += "This CPU runs bf16 natively too."
    else:
        lines[-1] += (
            f"This machine is a {m['cores']}-core {m['cpu']} with {m['cpu_capability']} only: no "
            "AVX512-BF16 and no AMX, so oneDNN emulates bf16 and it is far slower than fp32; "
            "`precision=auto` therefore resolves to fp32 here, and every run below is fp32."
        )
    if fp32_512 is not None:
        lines[-1] += (
            f" Measured fp32 at 512 x 512: {fp32_512:.2f} s, {fp32_512 / REFERENCE_FWD_BWD_512['fp32']:.1f}x "
            f"the reference's fp32 and {fp32_512 / REFERENCE_FWD_BWD_512['bf16']:.1f}x its bf16 time."
        )
    return "\n".join(lines)


def speed_section(speed: dict[str, Any]) -> str:
    rows = {row["size"]: row for row in speed["rows"]}
    text = [
        "## 1. VGG19 forward + backward (`benchmarks/bench_speed.py`)",
        "",
        "Network up to relu5_1 (the default content and style layers), frozen weights, gradient with "
        "respect to the input only, channels_last, input the content photo resized to a square. "
        "Median of several passes after one warm-up pass per size and precision; fp32 and bf16 "
        "passes are interleaved.",
        "",
        bench_speed.render(speed),
        "",
    ]
    small = rows[min(rows)]
    sentences = []
    if small["bf16"] is not None:
        ratio = small["bf16"]["median"] / small["fp32"]["median"]
        verdict = "slower" if ratio > 1 else "faster"
        factor = ratio if ratio > 1 else 1 / ratio
        sentences.append(f"bf16 autocast is {factor:.1f}x {verdict} than fp32 at {small['size']} px here.")
    if 512 in rows and 1024 in rows:
        scale = rows[1024]["fp32"]["median"] / rows[512]["fp32"]["median"]
        sentences.append(f"fp32 time grows {scale:.1f}x from 512 to 1024 px (4x the pixels).")
    text.append(" ".join(sentences))
    return "\n".join(text)


def end_to_end_section(e2e: dict[str, Any]) -> str:
    text = [
        "## 2. End to end at 512 px (`benchmarks/bench_end_to_end.py`)",
        "",
        "`brushwork.stylize(content, style, size=512, seed=0)` on tubingen.jpg + starry_night.jpg, each "
        "preset in a fresh process. Wall time is measured around the process: interpreter start, "
        "imports, reading the weights and images, optimization and writing the PNG. Peak RSS is the "
        "process's own `ru_maxrss`. The pictures are in benchmarks/results/ (not committed).",
        "",
        bench_end_to_end.render(e2e),
        "",
    ]
    for run in e2e["runs"]:
        wall = run["wall_s"]
        if wall <= END_TO_END_TARGET_S:
            verdict = f"meets the {END_TO_END_TARGET_S:.0f} s target"
        else:
            verdict = (
                f"misses the {END_TO_END_TARGET_S:.0f} s target by {wall - END_TO_END_TARGET_S:.0f} s "
                f"({wall / END_TO_END_TARGET_S:.1f}x the target)"
            )
        text.append(
            f"- {run['preset']} preset ({run['evaluations']} loss evaluations): {wall:.0f} s end to end, "
            f"which {verdict}; peak RSS {run['peak_rss_mib']:.0f} MiB."
        )
    return "\n".join(text)


def race_section(race: dict[str, Any]) -> str:
    p = race["pastiche"]
    agree = race["agreement"]
    width, height = race["size"]
    flat = race["brushwork"]["flat"]
    worst = max(agree["start"]["relative_difference"], agree["pastiche_final"]["relative_difference"])
    text = [
        "## 3. Race against pastiche (`benchmarks/race_pastiche.py`)",
        "",
        "Same objective on both sides, pastiche 1.6.0's defaults: content relu4_2 weight 0.01 (plain "
        "mean squared error), Gram mean squared error on relu1_1 … relu5_1 with weights 10/C², no total "
        "variation, max pooling, zero padding, content initialisation, L-BFGS, fp32. In brushwork: "
        "`Settings(normalize_losses=False, content_weight=0.01, style_weight=1.0, "
        "style_layer_weights=(10/64², 10/128², 10/256², 10/512², 10/512²), tv_weight=0.0, "
        'padding="zeros", pooling="max", init="content", precision="fp32")`. '
        f"Both load the same PNGs, pre-resized once to {width} x {height} (the style centre-cropped to "
        "the content's aspect ratio, so that both tools show it at exactly that size and neither "
        "resizes anything; both sides divisible by 16, so that pastiche's floor and brushwork's ceil "
        "max pooling see the same shapes).",
        "",
        f"Objective check on the same tensors: at the start image pastiche "
        f"{agree['start']['pastiche']:.8g} vs brushwork {agree['start']['brushwork']:.8g}; at pastiche's "
        f"final image {agree['pastiche_final']['pastiche']:.8g} vs {agree['pastiche_final']['brushwork']:.8g}"
        f" (largest relative difference {worst:.1e}; "
        f"{'within' if worst <= race_pastiche.AGREEMENT_TOLERANCE else 'OUTSIDE'} the 1e-4 tolerance). "
        f"brushwork's first evaluation inside `stylize()` at the final size: "
        f"{flat['first_final_loss']:.8g}.",
        "",
        f"pastiche ran {p['steps']} L-BFGS steps (asked: up to {race['steps_asked']} or "
        f"{race['budget_s']:.0f} s) at {width} x {height}; its loss after them, {p['target_loss']:.6g}, is "
        "the target. brushwork then ran the same objective and stopped at the first evaluation at the "
        "final size whose loss was at or below the target (losses at coarser pyramid scales do not "
        "count). Times count from the start of each tool's work, so they include loading the weights "
        "(pastiche dequantizes them in Python, which takes seconds); the optimization-only columns "
        "count from each tool's first loss evaluation instead.",
        "",
        race_pastiche.render(race),
        "",
    ]
    text += [
        "The same runs measured against easier targets, pastiche's loss after fewer steps (time from "
        "each tool's start; work = evaluations counted by their pixels relative to the final size, "
        "pastiche's over brushwork's, which the machine's load does not change):",
        "",
        race_pastiche.render_milestones(race),
        "",
    ]
    costs = race.get("evaluation_costs")
    if costs:
        estimates = {label: race_pastiche.estimated_speedup(race, label) for label in ("flat", "pyramid")}
        works = {label: race_pastiche.work(race, label) for label in ("flat", "pyramid")}
        text.append(
            "The machine's load changed between the three sequential runs (load averages: "
            + ", ".join(f"{k.replace('_', ' ')} {v[0]:.1f}" for k, v in race["loads"].items())
            + "), so the wall-clock ratios above mix brushwork's speed with the load. Two parts that "
            "the load does not distort: one loss evaluation at the final size, timed alternately on "
            f"the same image ({len(costs['samples']['pastiche'])} rounds), costs {costs['pastiche']:.2f} s "
            f"in pastiche and {costs['brushwork']:.2f} s in brushwork "
            f"({costs['pastiche'] / costs['brushwork']:.2f}x); and the work to the target, counting "
            "each evaluation by its pixels relative to the final size, is "
            f"{p['reached_evaluations']} evaluations for pastiche, "
            + ", ".join(
                f"{works[label]:.1f} for brushwork {name}"
                if works[label]
                else f"unknown for brushwork {name} (it did not get there)"
                for label, name in (("flat", "at the final size only"), ("pyramid", "with the pyramid"))
            )
            + ". Their product estimates the optimization speed-up as "
            + ", ".join(
                f"{estimates[label]:.2f}x ({name})" if estimates[label] else f"unknown ({name})"
                for label, name in (("flat", "final size only"), ("pyramid", "pyramid"))
            )
            + " (counting coarse evaluations by their pixels slightly flatters the pyramid).\n"
        )
    if race["torch_load_patched"]:
        text.append(
            "pastiche's `torch.load` call (no `weights_only`) was refused by this torch, so the "
            "benchmark allowed `weights_only=False` for the duration of that one call."
        )
    else:
        text.append(
            "pastiche's `torch.load` call (no `weights_only`) worked unchanged on this torch: its file "
            "holds only tensors, which the safe default accepts, so no patch was needed."
        )
    text.append("")
    target = race["target_speedup"]
    for label, name in (("pyramid", "default pyramid"), ("flat", "final size only")):
        b = race["brushwork"][label]
        if b["speedup"] is None:
            text.append(
                f"- brushwork ({name}) did not reach pastiche's loss within pastiche's time: the "
                f"{target:.0f}x target is missed."
            )
        elif b["speedup"] >= target:
            text.append(
                f"- brushwork ({name}): {b['speedup']:.2f}x from the start "
                f"({b['optimize_speedup']:.2f}x optimization only): meets the {target:.0f}x target."
            )
        else:
            text.append(
                f"- brushwork ({name}): {b['speedup']:.2f}x from the start "
                f"({b['optimize_speedup']:.2f}x optimization only): misses the {target:.0f}x target by a "
                f"factor of {target / b['speedup']:.1f}."
            )
    text.append(
        "\nOn a CPU with native bf16, brushwork's default `precision=auto` would run the network in "
        "bf16; that is not the case here, and the race pins fp32 on both sides anyway."
    )
    return "\n".join(text)


def summary(speed: dict[str, Any], e2e: dict[str, Any], race: dict[str, Any]) -> str:
    default = next(run for run in e2e["runs"] if run["preset"] == "default")
    pyramid = race["brushwork"]["pyramid"]
    lines = ["## Targets", ""]
    wall = default["wall_s"]
    if wall <= END_TO_END_TARGET_S:
        verdict = f"**met** ({wall:.0f} s)."
    else:
        verdict = f"**missed**: {wall:.0f} s, {wall / END_TO_END_TARGET_S:.1f}x the target."
    lines.append(
        f"- A default 512 px run in <= {END_TO_END_TARGET_S:.0f} s end to end: {verdict} Whether the "
        f"picture looks finished is for a person to judge: `{default['output']}`."
    )
    target = race["target_speedup"]
    speedup = pyramid["speedup"]
    if speedup is None:
        lines.append(f"- Race >= {target:.0f}x: **missed**: brushwork did not reach pastiche's loss in time.")
    else:
        verdict = "**met**" if speedup >= target else "**missed**"
        lines.append(
            f"- Race >= {target:.0f}x (default pyramid, from the start): {verdict} at {speedup:.2f}x"
            + ("." if speedup >= target else f", a factor of {target / speedup:.1f} short.")
        )
    if not speed["bf16_native"]:
        lines.append(
            "- The issue's timings assumed native bf16 (AMX); on this AVX2-only CPU bf16 is emulated, "
            "so brushwork runs fp32 and none of the bf16 speed-up is available."
        )
    return "\n".join(lines)


def render(meta: dict[str, Any]) -> str:
    speed, e2e, race = read_json("speed"), read_json("end_to_end"), read_json("race")
    parts = [
        "# Benchmarks",
        "",
        "Written by `python benchmarks/run_all.py` from one run of the three scripts in benchmarks/ "
        "(their raw results: benchmarks/results/*.json, not committed).",
        "",
        summary(speed, e2e, race),
        "",
        machine_section(speed, meta),
        "",
        speed_section(speed),
        "",
        end_to_end_section(e2e),
        "",
        race_section(race),
        "",
    ]
    if NOTES.is_file():  # hand-written sections (web server load, how the defaults were chosen)
        parts += [NOTES.read_text(encoding="utf-8")]
    return "\n".join(parts)


NOTES = HERE / "notes.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--race-size", default="384")
    parser.add_argument("--race-steps", default="300")
    parser.add_argument("--race-budget", default="360")
    args = parser.parse_args()
    if not args.render_only:
        meta: dict[str, Any] = {"load_start": load()}
        started = time.perf_counter()
        meta["speed_s"] = run_script("bench_speed.py")
        meta["end_to_end_s"] = run_script("bench_end_to_end.py")
        meta["race_s"] = run_script(
            "race_pastiche.py",
            "--size",
            args.race_size,
            "--steps",
            args.race_steps,
            "--budget",
            args.race_budget,
        )
        meta.update(
            load_end=load(),
            total_s=time.perf_counter() - started,
            finished=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        )
        write_json("run_all", meta)
    meta = read_json("run_all")
    out = ROOT / "BENCHMARKS.md"
    out.write_text(render(meta), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
