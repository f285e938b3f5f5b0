"""What the callback of :func:`brushwork.stylize` receives while an engine works."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from brushwork.features.vgg import from_caffe

FloatImage = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Progress:
    """Sent to the callback after every loss evaluation (the fast engine sends one, when done)."""

    scale: int  # 1-based index of the pyramid scale
    scales: int
    size: tuple[int, int]  # (width, height) at this scale
    step: int  # evaluations done at this scale
    steps: int  # evaluations planned at this scale
    done: int  # evaluations done in all
    total: int  # evaluations planned in all
    losses: dict[str, float]  # of the latest evaluation (empty before the first)
    elapsed: float  # seconds since stylize() started
    # (tiles done, tiles) while a tiled evaluation is under way; None once an evaluation is complete
    tile: tuple[int, int] | None = field(default=None, kw_only=True)
    _caffe: torch.Tensor = field(repr=False, compare=False)

    def image(self) -> FloatImage:
        """The current picture as (H, W, 3) float32 sRGB in [0, 1] (at this scale's size)."""
        return to_numpy(from_caffe(self._caffe))


Callback = Callable[[Progress], None]


def to_numpy(rgb: torch.Tensor) -> FloatImage:
    """(1, 3, H, W) tensor → (H, W, 3) float32 array in [0, 1]."""
    array = rgb.detach().float().clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
    return np.ascontiguousarray(array, dtype=np.float32)


def to_tensor(rgb: npt.NDArray[np.floating[Any]], device: torch.device) -> torch.Tensor:
    """(H, W, 3) array → (1, 3, H, W) float32 tensor on ``device``."""
    return torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None].to(device)
