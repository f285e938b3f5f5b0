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


PRECISION_NAMES = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}


def bf16_supported(device: torch.device) -> bool:
    """Whether bfloat16 convolutions run natively (fast) on ``device``."""
    if device.type == "cuda":
        # Ampere (compute capability 8.0) and later, or ROCm; without including_emulation=False torch
        # also says yes on older GPUs, where bf16 is emulated.
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    if device.type == "cpu":
        # True on CPUs with AVX512-BF16 or AMX; elsewhere oneDNN emulates bf16 and is far slower than fp32.
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


def fp16_supported(device: torch.device) -> bool:
    """Whether ``device`` runs float16 autocast: any CUDA GPU, and MPS where this torch has MPS autocast.
    (CPUs emulate most of it: slower than fp32 there.)"""
    if device.type == "cuda":
        return True
    if device.type == "mps":
        return bool(torch.amp.is_autocast_available("mps"))
    return False


def resolve_precision(precision: Precision, device: torch.device) -> torch.dtype:
    """The dtype the convolutions run in. ``auto``: bf16 where it is native (recent CPUs and GPUs),
    else fp16 on a GPU that runs it (older CUDA GPUs, MPS), else fp32."""
    if precision == "fp32":
        return torch.float32
    if precision == "bf16":
        if device.type == "mps":
            raise SettingsError("precision bf16 is not supported on mps; use auto or fp32")
        return torch.bfloat16
    if bf16_supported(device):
        return torch.bfloat16
    return torch.float16 if fp16_supported(device) else torch.float32


def precision_name(dtype: torch.dtype) -> str:
    """How results and records name a dtype from :func:`resolve_precision`: fp32, bf16 or fp16."""
    return PRECISION_NAMES[dtype]


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype) -> Iterator[None]:
    """Run the network in ``dtype`` (bf16 or fp16; a no-op for float32)."""
    if dtype == torch.float32:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield


def preferred_memory_format(device: torch.device) -> torch.memory_format:
    return torch.channels_last if device.type in ("cpu", "cuda") else torch.contiguous_format
