"""Turn the region settings (``mask``, ``invert_mask``, ``style_masks``, ``feather``) into what the
engines need: per region, a soft mask at the output's size and the weight of each style image in it,
and the overall mask that decides, pixel by pixel, how much of the painting replaces the photo."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import torch

from brushwork.config import Settings
from brushwork.errors import SettingsError, UserInputError

FloatArray = npt.NDArray[np.float32]

# Default softness of a mask's edge, as a fraction of the output's long side.
FEATHER_FRACTION = 0.01


@dataclass(frozen=True)
class RegionPlan:
    regions: list[tuple[torch.Tensor, tuple[float, ...]]]  # (mask (1, 1, H, W), weight per style)
    paint: torch.Tensor  # (1, 1, H, W): 1 = the painting, 0 = the photo
    notes: list[str] = field(default_factory=list)  # things the caller may tell the user


def has_regions(settings: Settings) -> bool:
    return settings.mask is not None or settings.style_masks is not None


def feather_pixels(settings: Settings, size: tuple[int, int]) -> float:
    if settings.feather is not None:
        return settings.feather
    return FEATHER_FRACTION * max(size)


def plan_regions(
    settings: Settings,
    size: tuple[int, int],
    blend: tuple[float, ...],
    device: torch.device,
) -> RegionPlan:
    """The regions of a picture of ``size`` (width, height) painted with styles weighted ``blend``."""
    from brushwork.regions import masks

    notes: list[str] = []
    soft = feather_pixels(settings, size)
    overall: FloatArray | None = None
    if settings.mask is not None:
        overall, note = masks.load_mask(settings.mask, size)
        notes += [note] if note else []
        if settings.invert_mask:
            overall = 1.0 - overall
        overall = masks.feather(overall, soft)
        _check_not_empty(overall, "--mask" + (" (inverted)" if settings.invert_mask else ""))
    regions: list[tuple[torch.Tensor, tuple[float, ...]]] = []
    if settings.style_masks is not None:
        if len(settings.style_masks) != len(blend):
            raise SettingsError(
                f"style-masks has {len(settings.style_masks)} masks for {len(blend)} style images"
            )
        parts = []
        for index, path in enumerate(settings.style_masks):
            part, note = masks.load_mask(path, size)
            notes += [note] if note else []
            part = masks.feather(part, soft)
            if overall is not None:
                part = part * overall
            _check_not_empty(part, f"the mask of style {index + 1}")
            parts.append(part)
        total = np.maximum(np.sum(parts, axis=0), 1.0)  # where masks overlap, they share the pixel
        parts = [part / total for part in parts]
        for index, part in enumerate(parts):
            weights = tuple(1.0 if i == index else 0.0 for i in range(len(blend)))
            regions.append((_tensor(part, device), weights))
        paint = np.clip(np.sum(parts, axis=0), 0.0, 1.0)
    else:
        assert overall is not None
        regions.append((_tensor(overall, device), blend))
        paint = overall
    return RegionPlan(regions=regions, paint=_tensor(paint.astype(np.float32), device), notes=notes)


def composite(painted: torch.Tensor, photo: torch.Tensor, paint: torch.Tensor) -> torch.Tensor:
    """The painting where ``paint`` is 1, the photo where it is 0, mixed in between."""
    return torch.lerp(photo, painted, paint)


def _check_not_empty(mask: FloatArray, what: str) -> None:
    if float(mask.max()) < 1 / 255:
        raise UserInputError(f"{what} is black everywhere: there is nothing to paint")


def _tensor(mask: FloatArray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None, None].to(device)
