"""Devices and precision: what ``auto`` resolves to (availability monkeypatched, so these run on any
machine), and both engines on a CUDA or MPS device where there is one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import brushwork
from brushwork import device as bw_device
from brushwork.device import precision_name, resolve_device, resolve_precision
from brushwork.errors import SettingsError
from brushwork.imageio import read_image, resize

DATA = Path(__file__).parent / "data"
CONTENT = DATA / "tubingen.jpg"
STARRY = DATA / "starry_night.jpg"
CPU, CUDA, MPS = torch.device("cpu"), torch.device("cuda"), torch.device("mps")


def cuda_bf16(native: bool) -> Any:
    """torch.cuda.is_bf16_supported for a GPU with native bf16 (Ampere and later) or only emulated."""

    def is_bf16_supported(including_emulation: bool = True) -> bool:
        return native or including_emulation

    return is_bf16_supported


@pytest.mark.parametrize("device", [CPU, CUDA, MPS])
def test_fp32_is_fp32_everywhere(device: torch.device) -> None:
    assert resolve_precision("fp32", device) == torch.float32


def test_bf16_when_asked_except_on_mps() -> None:
    assert resolve_precision("bf16", CPU) == torch.bfloat16
    assert resolve_precision("bf16", CUDA) == torch.bfloat16
    with pytest.raises(SettingsError, match="bf16 is not supported on mps"):
        resolve_precision("bf16", MPS)


@pytest.mark.parametrize(("native", "expected"), [(True, torch.bfloat16), (False, torch.float32)])
def test_auto_on_a_cpu_is_bf16_only_where_native(
    monkeypatch: pytest.MonkeyPatch, native: bool, expected: torch.dtype
) -> None:
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: native)
    assert bw_device.bf16_supported(CPU) is native
    assert resolve_precision("auto", CPU) == expected


@pytest.mark.parametrize(("native", "expected"), [(True, torch.bfloat16), (False, torch.float16)])
def test_auto_on_cuda_is_bf16_where_native_else_fp16(
    monkeypatch: pytest.MonkeyPatch, native: bool, expected: torch.dtype
) -> None:
    """An older GPU (before Ampere) only emulates bf16, which torch also calls supported by default."""
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", cuda_bf16(native))
    assert bw_device.bf16_supported(CUDA) is native
    assert resolve_precision("auto", CUDA) == expected


@pytest.mark.parametrize(("autocast", "expected"), [(True, torch.float16), (False, torch.float32)])
def test_auto_on_mps_is_fp16_where_autocast_runs(
    monkeypatch: pytest.MonkeyPatch, autocast: bool, expected: torch.dtype
) -> None:
    monkeypatch.setattr(torch.amp, "is_autocast_available", lambda device_type: autocast)
    assert not bw_device.bf16_supported(MPS)
    assert resolve_precision("auto", MPS) == expected


def test_precision_names() -> None:
    assert [precision_name(d) for d in (torch.float32, torch.bfloat16, torch.float16)] == [
        "fp32",
        "bf16",
        "fp16",
    ]


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"), [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")]
)
def test_auto_device_is_the_first_available(
    monkeypatch: pytest.MonkeyPatch, cuda: bool, mps: bool, expected: str
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert resolve_device("auto") == torch.device(expected)


def test_an_unavailable_device_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(SettingsError, match="no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(SettingsError, match="MPS is not available"):
        resolve_device("mps")
    with pytest.raises(SettingsError, match="unknown device"):
        resolve_device("gpu")


# ------------------------------------------------------------------------------------ on a real GPU

GPUS = [
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")),
    pytest.param("mps", marks=pytest.mark.skipif(not torch.backends.mps.is_available(), reason="no MPS")),
]


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return resize(read_image(CONTENT).rgb, (64, 48))


def check(result: brushwork.StylizeResult, device: torch.device) -> None:
    assert result.image.shape == (48, 64, 3) and result.image.dtype == np.float32
    assert np.isfinite(result.image).all()
    assert result.image.min() >= 0.0 and result.image.max() <= 1.0
    assert result.device.startswith(device.type)
    assert result.precision == precision_name(resolve_precision("auto", device))
    assert result.record()["precision"] == result.precision


@pytest.mark.parametrize("name", GPUS)
def test_fast_engine_on_the_gpu(name: str, photo: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    device = torch.device(name)
    result = brushwork.stylize(photo, STARRY, method="fast", size=64, device=device)
    check(result, device)
    assert np.abs(result.image - photo).mean() > 0.02  # painted, not the photo back
    # in fp32 (true fp32: no TF32 convolutions) it paints what the CPU paints, so nothing was left
    # behind on the CPU or computed apart
    if device.type == "cuda":
        monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
        monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    on_gpu = brushwork.stylize(photo, STARRY, method="fast", size=64, device=device, precision="fp32")
    on_cpu = brushwork.stylize(photo, STARRY, method="fast", size=64, precision="fp32")
    assert on_gpu.precision == "fp32"
    assert np.abs(on_gpu.image - on_cpu.image).max() < 5e-3


@pytest.mark.parametrize("name", GPUS)
def test_optimizer_on_the_gpu(name: str, photo: np.ndarray) -> None:
    device = torch.device(name)
    seen: list[dict[str, float]] = []
    result = brushwork.stylize(
        photo, STARRY, size=64, steps=2, seed=0, device=device, callback=lambda p: seen.append(p.losses)
    )
    check(result, device)
    assert seen and all(np.isfinite(v) for losses in seen for v in losses.values())
    assert len(result.history) >= 2 and np.isfinite(result.history).all()
    assert result.losses["total"] > 0
