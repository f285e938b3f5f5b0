"""Turn the region settings (``mask``, ``invert_mask``, ``style_masks``, ``feather``, ``subject_box``,
``protect_faces``, ``protect_text``) into what the engines need: per region, a soft mask at the output's
size and the weight of each style image in it, and the overall mask that decides, pixel by pixel, how
much of the painting replaces the photo.

Mask files are drawn on the photo as given: the before-adjustments (crop, rotate, flip, pad) are
applied to them too, so they stay in register with the picture that is painted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import torch

from brushwork.config import Settings
from brushwork.errors import SettingsError

FloatArray = npt.NDArray[np.float32]

# Default softness of a mask's edge, as a fraction of the output's long side.
FEATHER_FRACTION = 0.01
# How much of the photo a detected face keeps with --protect-faces (the rest is the painting).
FACE_KEEP = 0.75


@dataclass(frozen=True)
class RegionPlan:
    regions: list[tuple[torch.Tensor, tuple[float, ...]]]  # (mask (1, 1, H, W), weight per style)
    paint: torch.Tensor  # (1, 1, H, W): 1 = the painting, 0 = the photo
    notes: list[str] = field(default_factory=list)  # things the caller may tell the user


def has_regions(settings: Settings) -> bool:
    return (
        settings.mask is not None
        or settings.style_masks is not None
        or settings.protect_faces
        or settings.protect_text
    )


def feather_pixels(settings: Settings, size: tuple[int, int]) -> float:
    if settings.feather is not None:
        return settings.feather
    return FEATHER_FRACTION * max(size)


def plan_regions(
    settings: Settings,
    photo: FloatArray,
    original: tuple[int, int],
    blend: tuple[float, ...],
    device: torch.device,
) -> RegionPlan:
    """The regions of ``photo`` ((H, W, 3), the picture to paint at the output's size) painted with
    styles weighted ``blend``. ``original`` is the (width, height) of the photo before the
    before-adjustments, which mask files are drawn on."""
    notes: list[str] = []
    soft = feather_pixels(settings, (photo.shape[1], photo.shape[0]))

    def mask_of(spec: str, inverted: bool) -> FloatArray:
        mask, more = _mask(settings, spec, photo, original, inverted, soft)
        notes.extend(more)
        return mask

    overall = mask_of(settings.mask, settings.invert_mask) if settings.mask is not None else None
    parts: list[FloatArray] = []
    if settings.style_masks is not None:
        if len(settings.style_masks) != len(blend):
            raise SettingsError(
                f"style-masks has {len(settings.style_masks)} masks for {len(blend)} style images"
            )
        for index, spec in enumerate(settings.style_masks):
            part = mask_of(spec, False)
            if overall is not None:
                part = part * overall
            _check_coverage(part, f"the mask of style {index + 1}")
            parts.append(part)
        total = np.maximum(np.sum(parts, axis=0), 1.0)  # where masks overlap, they share the pixel
        parts = [part / total for part in parts]
        weights = [
            tuple(1.0 if i == index else 0.0 for i in range(len(blend))) for index in range(len(parts))
        ]
    else:
        parts = [overall if overall is not None else np.ones(photo.shape[:2], np.float32)]
        weights = [blend]
    if settings.protect_faces:
        faces = _faces(photo, soft, notes)
        if faces is not None:
            parts = [part * (1.0 - FACE_KEEP * faces) for part in parts]
    if settings.protect_text:
        text = _text(photo, notes)
        if text is not None:
            parts = [part * (1.0 - settings.protect_text_strength * text) for part in parts]
    paint = np.clip(np.sum(parts, axis=0), 0.0, 1.0).astype(np.float32)
    regions = [(_tensor(part, device), w) for part, w in zip(parts, weights, strict=True)]
    return RegionPlan(regions=regions, paint=_tensor(paint, device), notes=notes)


def _mask(
    settings: Settings,
    spec: str,
    photo: FloatArray,
    original: tuple[int, int],
    inverted: bool,
    soft: float,
) -> tuple[FloatArray, list[str]]:
    from brushwork.finishing.before import apply_before, parse_box
    from brushwork.imageio import read_image
    from brushwork.regions.masks import check_coverage, feather, fit, invert, mask_from_picture
    from brushwork.regions.resolve import KEYWORDS, region_mask

    size = (photo.shape[1], photo.shape[0])
    box = parse_box(settings.subject_box, "subject-box") if settings.subject_box else None
    if spec in KEYWORDS:
        loaded = region_mask(
            spec,
            photo,
            inverted=inverted,
            feather_px=soft,
            box=box if spec in ("subject", "background") else None,
        )
        return loaded.mask, list(loaded.notes)
    before = settings.before
    if before.is_identity:
        loaded = region_mask(spec, photo, inverted=inverted, feather_px=soft)
        return loaded.mask, list(loaded.notes)
    # drawn on the photo as given, then moved with it; checked once it is the mask that will be used
    drawn, note = fit(mask_from_picture(read_image(spec)), original, spec)
    notes = [note] if note else []
    placeholder = np.zeros((original[1], original[0], 3), np.float32)
    moved = apply_before(before, placeholder, mask=drawn).mask
    assert moved is not None
    mask, _ = fit(moved, size)
    if inverted:
        mask = invert(mask)
    note = check_coverage(mask, f"mask {spec}", inverted=inverted)
    return feather(mask, soft), notes + ([note] if note else [])


def _faces(photo: FloatArray, soft: float, notes: list[str]) -> FloatArray | None:
    from brushwork.regions.faces import face_mask, find_faces
    from brushwork.regions.masks import feather

    boxes = find_faces(photo)
    if not boxes:
        notes.append("protect-faces: no face found")
        return None
    notes.append(f"protect-faces: {len(boxes)} face{'s' if len(boxes) > 1 else ''} found")
    return feather(face_mask(photo.shape[:2], boxes), soft)


def _text(photo: FloatArray, notes: list[str]) -> FloatArray | None:
    from brushwork.regions.text import find_text, text_mask

    lines = find_text(photo)
    if not lines:
        notes.append("protect-text: no text found")
        return None
    notes.append(f"protect-text: {len(lines)} line{'s' if len(lines) > 1 else ''} of text found")
    return text_mask(photo.shape[:2], lines)


def composite(painted: torch.Tensor, photo: torch.Tensor, paint: torch.Tensor) -> torch.Tensor:
    """The painting where ``paint`` is 1, the photo where it is 0, mixed in between."""
    return torch.lerp(photo, painted, paint)


def _check_coverage(mask: FloatArray, name: str) -> None:
    from brushwork.regions.masks import check_coverage  # imports OpenCV: only when masks are used

    check_coverage(mask, name)


def _tensor(mask: FloatArray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None, None].to(device)
