"""Devices and numeric precision. The library never picks a device by itself: callers pass one,
and the command line turns ``auto`` into a device with :func:`resolve_device`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from brushwork.config import Precision
from brushwork.errors import SettingsError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str) -> torch.device:
    """``auto`` → the first of cuda, mps, cpu that is available; others are checked for availability."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise SettingsError(f"unknown device '{name}'; choose from {', '.join(DEVICE_CHOICES)}") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SettingsError("device 'cuda' was asked for but no CUDA GPU is available")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise SettingsError("device 'mps' was asked for but MPS is not available")
    if device.type not in ("cpu", "cuda", "mps"):
        raise SettingsError(f"unsupported device '{name}'; choose from {', '.join(DEVICE_CHOICES)}")
    return device


def bf16_supported(device: torch.device) -> bool:
    """Whether bfloat16 convolutions run natively (fast) on ``device``."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        # True on CPUs with AVX512-BF16 or AMX; elsewhere oneDNN emulates bf16 and is far slower than fp32.
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


def resolve_precision(precision: Precision, device: torch.device) -> torch.dtype:
    """The dtype the convolutions run in: bf16 for ``auto`` where it is native, else fp32."""
    if precision == "fp32":
        return torch.float32
    if precision == "bf16":
        if device.type == "mps":
            raise SettingsError("precision bf16 is not supported on mps; use fp32")
        return torch.bfloat16
    return torch.bfloat16 if bf16_supported(device) else torch.float32


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype) -> Iterator[None]:
    """Run the network in ``dtype`` (a no-op for float32)."""
    if dtype == torch.float32:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield


def preferred_memory_format(device: torch.device) -> torch.memory_format:
    return torch.channels_last if device.type in ("cpu", "cuda") else torch.contiguous_format
