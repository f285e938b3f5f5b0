"""VGG19 forward + backward time, float32 vs bfloat16 autocast, at several square sizes.

The network runs up to relu5_1 (the deepest of the default content and style layers), with frozen
weights and the gradient taken with respect to the input only, in channels_last layout, as one
optimizer step of a transfer does. Where bf16 is not native (no AVX512-BF16 / AMX, so oneDNN emulates
it) only the smallest size is measured in bf16, once after a warm-up: emulated passes take minutes.

    python benchmarks/bench_speed.py [--sizes 256 512 1024] [--repeats N]
"""

from __future__ import annotations

import argparse
import gc
import time
from typing import Any

import torch

from _common import CONTENT, REFERENCE_FWD_BWD_512, load, machine, median, table, write_json
from brushwork import Settings, imageio
from brushwork.device import autocast, bf16_supported
from brushwork.features import VGG19Features, find_weights, load_weights, to_caffe

DEFAULT_REPEATS = {256: 7, 512: 5, 1024: 3}
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def build_network() -> VGG19Features:
    settings = Settings()
    net = VGG19Features(
        load_weights(find_weights()),
        settings.content_layers + settings.style_layers,
        pooling=settings.pooling,
        padding=settings.padding,
    )
    return net.to(memory_format=torch.channels_last)  # type: ignore[call-overload,no-any-return]


def input_image(size: int) -> torch.Tensor:
    rgb = imageio.resize(imageio.read_image(CONTENT).rgb, (size, size))
    tensor = to_caffe(torch.from_numpy(rgb).permute(2, 0, 1)[None])
    return tensor.contiguous(memory_format=torch.channels_last)


def one_pass(net: VGG19Features, image: torch.Tensor, dtype: torch.dtype) -> dict[str, float]:
    """Seconds (wall and process CPU) of one forward + backward pass."""
    x = image.detach().clone().requires_grad_(True)
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    with autocast(x.device, dtype):
        features = net(x)
    loss = sum((f.float().mean() for f in features.values()), torch.zeros(()))
    loss.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}


def run(sizes: list[int], repeats: int | None) -> dict[str, Any]:
    torch.manual_seed(0)
    native = bf16_supported(torch.device("cpu"))
    net = build_network()
    rows: list[dict[str, Any]] = []
    for size in sizes:
        image = input_image(size)
        count = repeats or DEFAULT_REPEATS.get(size, 3)
        # Emulated bf16 is measured only at the smallest size, once.
        plan = {"fp32": count, "bf16": count if native else (1 if size == min(sizes) else 0)}
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in DTYPES}
        loads: list[list[float]] = [load()]
        for name, dtype in DTYPES.items():
            if plan[name]:
                print(f"{size}px {name}: warm-up", flush=True)
                one_pass(net, image, dtype)
        # Interleave the precisions so that a change in the machine's load hits both alike.
        for index in range(max(plan.values())):
            for name, dtype in DTYPES.items():
                if index < plan[name]:
                    sample = one_pass(net, image, dtype)
                    samples[name].append(sample)
                    print(f"{size}px {name}: {sample['wall']:.2f} s (cpu {sample['cpu']:.2f} s)", flush=True)
            loads.append(load())
        row: dict[str, Any] = {"size": size, "load": loads}
        for name in DTYPES:
            walls = [s["wall"] for s in samples[name]]
            row[name] = (
                {
                    "median": median(walls),
                    "min": min(walls),
                    "n": len(walls),
                    "cpu_median": median(s["cpu"] for s in samples[name]),
                    "samples": walls,
                }
                if walls
                else None
            )
        rows.append(row)
    small = rows[0]
    slowdown = small["bf16"]["median"] / small["fp32"]["median"] if small["bf16"] else None
    for row in rows:
        if row["bf16"] is None:
            row["bf16_note"] = (
                f"not measured: bf16 is not native on this CPU ({slowdown:.0f}x slower than fp32 at "
                f"{small['size']})"
            )
    return {"machine": machine(), "bf16_native": native, "rows": rows, "reference": REFERENCE_FWD_BWD_512}


def render(data: dict[str, Any]) -> str:
    rows = []
    for row in data["rows"]:
        fp32 = row["fp32"]
        bf16 = row["bf16"]
        ratio = f"{bf16['median'] / fp32['median']:.1f}x" if bf16 else "-"
        peak = max(max(values) for values in row["load"])
        rows.append(
            [
                f"{row['size']} x {row['size']}",
                f"{fp32['median']:.2f} (min {fp32['min']:.2f}, n={fp32['n']})",
                f"{bf16['median']:.2f} (n={bf16['n']})" if bf16 else row["bf16_note"],
                ratio,
                f"{peak:.1f}",
            ]
        )
    header = ["size", "fp32 s (median)", "bf16 autocast s", "bf16 / fp32", "max load avg"]
    return table(header, rows)


def section(data: dict[str, Any]) -> str:
    """BENCHMARKS.md's table."""
    return render(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--repeats", type=int, default=None, help="passes per size (default: 7/5/3)")
    args = parser.parse_args()
    data = run(sorted(args.sizes), args.repeats)
    path = write_json("speed", data)
    print(render(data))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
