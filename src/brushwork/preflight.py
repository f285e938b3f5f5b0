"""Checks the shells make on a run's inputs before any work starts (outputs: :mod:`brushwork.outputs`).

Each raises :class:`~brushwork.errors.UserInputError` with a one-line message, or returns a note for
the user, so that a mistake is answered in a second rather than after a long run:

* a style image too small to carry a style is refused (:data:`MIN_STYLE_SIDE`);
* a weights file that is not a VGG19 ``torch.save`` dict is refused, naming what is wrong;
* a memory budget larger than the machine is lowered to the machine's memory, with a note.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from typing import Any

import torch
from PIL import Image

from brushwork.config import Settings
from brushwork.engines.optimize.memory import format_bytes, parse_memory
from brushwork.errors import UserInputError
from brushwork.features.weights import CONV_NAMES
from brushwork.sysmemory import total_memory

# A style image's statistics come from its texture; below this many pixels on its short side it has
# almost none (VGG19's first pooling halves it, the fifth block sees one position), and scaled up to
# the output's size it paints a blur of its average colour.
MIN_STYLE_SIDE = 16

VGG19_CHANNELS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}  # output channels of each block's convs

PathLike = str | os.PathLike[str]


def check_style_image(path: PathLike) -> None:
    """Refuse a style image under :data:`MIN_STYLE_SIDE` pixels on its short side.

    Only the header is read; a file that cannot be opened is left for the image reader to report.
    """
    name = os.fspath(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. Pillow's decompression-bomb warning: read_image decides
            with Image.open(name) as im:
                width, height = im.size
    except Exception:  # unreadable: read_image gives the precise one-line error later
        return
    if 0 < min(width, height) < MIN_STYLE_SIDE:
        raise UserInputError(
            f"style image {name!r} is {width}x{height}: too small to carry a style (at least "
            f"{MIN_STYLE_SIDE} pixels on the short side are needed; a few hundred work best)"
        )


def check_weights_file(path: PathLike) -> None:
    """Refuse a file that is not a VGG19 weights file (see the README's "Weights"), naming the problem.

    Reads the structure only: zip-format files are memory-mapped, so no tensor data is copied.
    """
    name = os.fspath(path)

    def refuse(detail: str) -> UserInputError:
        return UserInputError(
            f"{name!r} is not a VGG19 weights file: {detail} (expected a torch.save dict of "
            "'conv1_1.weight', 'conv1_1.bias', ... tensors)"
        )

    try:
        raw = torch.load(name, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(name))
    except Exception:  # torch raises many kinds for a file it cannot read
        raise refuse("torch.load cannot read it") from None
    if not isinstance(raw, dict) or not all(isinstance(value, torch.Tensor) for value in raw.values()):
        raise refuse("it does not hold a dict of tensors")
    in_channels, layers = 3, 0
    for conv in CONV_NAMES:
        out_channels = VGG19_CHANNELS[int(conv[4])]
        shape = (out_channels, in_channels, 3, 3)
        if f"{conv}.weight" in raw:
            problem = _full_layer_problem(raw, conv, shape)
        elif f"{_quantized_name(conv)}_W_q" in raw:
            problem = _quantized_layer_problem(raw, _quantized_name(conv), shape)
        else:
            break  # a file may stop early; deeper layers are then unavailable
        if problem:
            raise refuse(problem)
        in_channels, layers = out_channels, layers + 1
    if layers == 0:
        raise refuse("it has no 'conv1_1.weight'")


def _quantized_name(conv: str) -> str:
    block, index = conv.removeprefix("conv").split("_")
    return f"block{block}_conv{index}"


def _shape_problem(key: str, value: Any, shape: tuple[int, ...], floating: bool) -> str | None:
    if not isinstance(value, torch.Tensor):
        return f"'{key}' is missing"
    if value.is_floating_point() != floating:
        return f"'{key}' is {'not ' if floating else ''}a float tensor"
    if tuple(value.shape) != shape:
        return f"'{key}' has shape {tuple(value.shape)} instead of {shape}"
    return None


def _full_layer_problem(raw: dict[str, Any], conv: str, shape: tuple[int, ...]) -> str | None:
    return _shape_problem(f"{conv}.weight", raw.get(f"{conv}.weight"), shape, True) or _shape_problem(
        f"{conv}.bias", raw.get(f"{conv}.bias"), shape[:1], True
    )


def _quantized_layer_problem(raw: dict[str, Any], prefix: str, shape: tuple[int, ...]) -> str | None:
    indices, table = raw.get(f"{prefix}_W_q"), raw.get(f"{prefix}_W_table")
    problem = _shape_problem(f"{prefix}_W_q", indices, shape, False) or _shape_problem(
        f"{prefix}_b", raw.get(f"{prefix}_b"), shape[:1], True
    )
    if problem:
        return problem
    assert isinstance(indices, torch.Tensor)
    if not isinstance(table, torch.Tensor) or table.ndim != 1 or not table.is_floating_point():
        return f"'{prefix}_W_table' is missing or not a list of floats"
    if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= table.numel()):
        return f"'{prefix}_W_q' points past the end of its table"
    return None


def machine_memory(device: torch.device) -> int | None:
    """Memory the device has in all, in bytes: the GPU's for CUDA, else the RAM this process may use
    (the smaller of the machine's and a cgroup limit, see :mod:`brushwork.sysmemory`). None when
    unknown."""
    if device.type == "cuda":
        return int(torch.cuda.get_device_properties(device).total_memory)
    if device.type != "cpu":
        return None
    return total_memory()


def fit_memory_budget(settings: Settings, device: torch.device) -> tuple[Settings, str | None]:
    """Lower ``max_memory`` to the device's memory when it asks for more; return the settings to use and
    a note saying so (None when nothing changed)."""
    if settings.max_memory is None:
        return settings, None
    asked = parse_memory(settings.max_memory)
    total = machine_memory(device)
    if total is None or asked <= total:
        return settings, None
    fitted = f"{total // 2**20}MB"
    where = "the GPU" if device.type == "cuda" else "this machine"
    note = (
        f"note: max-memory {settings.max_memory} is more than {where} has "
        f"({format_bytes(total)}); planning within {format_bytes(total)}"
    )
    return settings.replace(max_memory=fitted), note
