"""``brushwork info``: the version, the device, precision support, threads, where the weights are, and
which image formats this install reads and writes."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    commands.add_parser("info", help="show version, device, precision support and weights")


def run(args: argparse.Namespace) -> int:
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
    rows.update(_format_rows())
    width = max(len(k) for k in rows)
    for key, value in rows.items():
        print(f"{key:<{width}}  {value}")
    return 0


def _format_rows() -> dict[str, str]:
    """One row per image format: whether this install reads and writes it, and what it keeps."""
    from brushwork.codecs.formats import FORMATS, available

    rows = {}
    for fmt in FORMATS:
        missing = available(fmt)
        if missing is not None:
            rows[f"format {fmt.name}"] = f"no: {missing}"
            continue
        kept = [
            name for name, has in (("16-bit", fmt.holds16), ("alpha", fmt.alpha), ("ICC", fmt.icc)) if has
        ]
        does = "read, write" if fmt.writes else "read"
        rows[f"format {fmt.name}"] = f"{does} ({' '.join(fmt.extensions)}; {', '.join(kept) or '8-bit'})"
    return rows
