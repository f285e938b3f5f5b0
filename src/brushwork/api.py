"""``stylize()``: the one entry point. Read → prepare → engine → postprocess → result.

The engine is picked by ``Settings.method``: ``optimize`` (brushwork.engines.optimize, the quality
engine) or ``fast`` (brushwork.engines.feedforward, one pass of a feed-forward network).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch

from brushwork import color, imageio
from brushwork.codecs.exr import ToneMap
from brushwork.codecs.formats import OUTPUT_PROFILES
from brushwork.codecs.icc import describe as describe_profile
from brushwork.config import Settings
from brushwork.device import precision_name
from brushwork.engines.optimize.memory import ScalePlan, parse_memory
from brushwork.engines.optimize.objective import ExtraLoss
from brushwork.errors import SettingsError, UserInputError
from brushwork.features.vgg import to_caffe
from brushwork.imageio import Layers, Picture
from brushwork.outputs import check_output, write_text_atomically
from brushwork.progress import Callback, FloatImage, Progress, to_numpy, to_tensor
from brushwork.regions.plan import RegionPlan, composite, has_regions, plan_regions

ImageInput = str | os.PathLike[str] | Picture | npt.NDArray[Any]
OutputProfile = Literal["source", "srgb"]

__all__ = ["Callback", "ImageInput", "Progress", "StylizeResult", "as_picture", "stylize"]


@dataclass(frozen=True)
class StylizeResult:
    image: FloatImage  # (H, W, 3) float32 sRGB in [0, 1]
    alpha: FloatImage | None  # (H, W) float32, from the content image
    losses: dict[str, float]  # the last evaluation's terms (weighted) and total (optimizer only)
    history: list[float]  # total loss after every evaluation (optimizer only)
    timings: dict[str, float]  # seconds: prepare, optimize (the engine's work), total
    settings: Settings
    device: str
    precision: str
    scales: list[tuple[int, int]]
    weights: str
    memory_budget: int = 0  # bytes the run was planned to stay within
    plans: list[ScalePlan] = field(default_factory=list)  # how each scale was run (tiles, history)
    inputs: tuple[str, ...] = ()  # the input files (content, styles, init), which save() never overwrites
    notes: list[str] = field(default_factory=list)  # things worth telling the user (e.g. a resized mask)
    source_bits: int = 8  # the photo's precision: 16-bit photos give 16-bit files where the format allows
    profile: bytes | None = None  # the photo's RGB colour profile (None: sRGB); outputs are written in it
    tonemap: ToneMap | None = None  # how an OpenEXR photo's linear light was mapped for the networks
    layers: Layers | None = None  # the photo (and the mask, if any) beneath the painting, for a PSD

    @property
    def size(self) -> tuple[int, int]:
        return (self.image.shape[1], self.image.shape[0])

    def record(self) -> dict[str, Any]:
        """What was done, as plain JSON-able values."""
        return {
            "size": list(self.size),
            "seconds": round(self.timings["total"], 3),
            "device": self.device,
            "precision": self.precision,
            "losses": {k: float(f"{v:.6g}") for k, v in self.losses.items()},
            "scales": [list(s) for s in self.scales],
            # what the picture grew from (the preset decides when --init is not given)
            "start": "fast engine" if self.settings.method == "fast" else self.settings.start,
            "weights": self.weights,
            "memory": {
                "budget_mb": round(self.memory_budget / 2**20),
                "tiles": [plan.tile for plan in self.plans],
                "lbfgs_history": [plan.history for plan in self.plans],
            },
            "settings": self.settings.to_dict(),
            **self._colour_record(),
        }

    def _colour_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {}
        if self.profile is not None:
            record["colour_profile"] = describe_profile(self.profile)
        if self.tonemap is not None:
            record["tonemap"] = {"operator": "reinhard", "exposure": float(f"{self.tonemap.exposure:.6g}")}
        return record

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        bits: int | None = None,
        sidecar: bool = False,
        output_profile: OutputProfile = "source",
        metadata: dict[str, str] | None = None,
    ) -> None:
        """Write the picture (atomically), with the settings in its metadata; optionally a
        ``<path>.json`` sidecar holding the same record.

        ``bits`` None: the photo's precision where the format holds it, else 8. ``output_profile``
        "source" writes in the photo's colour space with its profile embedded (where the format holds
        one), "srgb" in sRGB. A PSD gets the photo beneath the painting, and the mask as a layer mask.
        ``metadata`` adds entries to the record's."""
        if output_profile not in OUTPUT_PROFILES:
            raise SettingsError(
                f"output profile must be one of {', '.join(OUTPUT_PROFILES)}, not {output_profile!r}"
            )
        sidecar_path = Path(f"{os.fspath(path)}.json")
        for target in (path, sidecar_path) if sidecar else (path,):
            check_output(target, self.inputs)
        record = self.record()
        entries = {
            "Software": "brushwork",
            "brushwork": json.dumps(record, sort_keys=True),
            **(metadata or {}),
        }
        imageio.write_image(
            path,
            self.image,
            alpha=self.alpha,
            bits=imageio.output_bits(path, self.source_bits, bits),
            metadata=entries,
            profile=self.profile if output_profile == "source" else None,
            tonemap=self.tonemap,
            layers=self.layers,
        )
        if sidecar:
            write_text_atomically(sidecar_path, json.dumps(record, indent=2) + "\n")


def as_picture(image: ImageInput, what: str) -> Picture:
    """Accept a path, a :class:`Picture`, or an (H, W, 3) array (uint8, or float in [0, 1])."""
    if isinstance(image, Picture):
        return image
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
            raise UserInputError(f"{what} array must have shape (H, W, 3), got {image.shape}")
        if image.dtype == np.uint8:
            rgb = image.astype(np.float32) / 255.0
        else:
            rgb = np.clip(image.astype(np.float32), 0.0, 1.0)
        return Picture(rgb=rgb, alpha=None, bits=8)
    return imageio.read_image(image)


def stylize(
    content: ImageInput,
    styles: ImageInput | Sequence[ImageInput],
    *,
    settings: Settings | None = None,
    device: str | torch.device = "cpu",
    weights: str | os.PathLike[str] | None = None,
    callback: Callback | None = None,
    extra_loss: ExtraLoss | None = None,
    **overrides: Any,
) -> StylizeResult:
    """Paint ``content`` in the style of ``styles``.

    ``settings`` holds every option (see :class:`brushwork.Settings`); keyword ``overrides`` replace
    single fields, e.g. ``stylize("photo.jpg", "starry.jpg", size=768, seed=1)``. ``device`` is used
    as given. ``weights`` is the VGG19 file of the optimizer. ``callback`` receives a
    :class:`Progress` after every loss evaluation (the fast engine sends one, at the end); an
    exception raised there stops the run and propagates. ``extra_loss`` (optimizer only) is added to
    the objective: a function of the image being optimised (Caffe space: BGR, 0–255, mean removed,
    at the current scale's size) returning a scalar tensor, e.g. video's temporal term.
    """
    started = time.perf_counter()
    try:
        settings = (settings or Settings()).replace(**overrides)
    except TypeError as error:
        raise SettingsError(str(error)) from error
    if settings.method == "fast" and extra_loss is not None:
        raise SettingsError("an extra loss only applies to method optimize")
    device = torch.device(device)
    style_list: list[ImageInput] = list(styles) if isinstance(styles, list | tuple) else [styles]  # type: ignore[list-item]
    if not style_list:
        raise UserInputError("at least one style image is needed")
    blend = settings.style_blend or tuple(1.0 for _ in style_list)
    if len(blend) != len(style_list):
        raise SettingsError(f"style-blend has {len(blend)} weights for {len(style_list)} style images")

    content_picture = as_picture(content, "content")
    original_size = content_picture.size
    content_picture = _adjust_before(content_picture, settings)
    style_pictures = [as_picture(style, "style") for style in style_list]
    init_picture = (
        None if settings.start in ("content", "noise", "fast") else as_picture(settings.start, "init")
    )
    final_size = imageio.fit_long_side(content_picture.size, settings.size)
    photo = imageio.resize(content_picture.rgb, final_size)
    content_full = to_tensor(photo, device)
    style_full = [to_tensor(p.rgb, device) for p in style_pictures]
    plan = plan_regions(settings, photo, original_size, blend, device) if has_regions(settings) else None
    prepared = time.perf_counter()

    if settings.method == "fast":
        painted, result_fields = _run_fast(content_full, style_full, blend, settings, started, callback, plan)
    else:
        if settings.match_colors is not None:
            style_full = [color.match_color(s, content_full, settings.match_colors) for s in style_full]
        start = to_tensor(init_picture.rgb, device) if init_picture is not None else None
        if settings.start == "fast":
            start = _fast_start(content_full, style_full, blend, settings)
        painted, result_fields = _run_optimize(
            content_full, style_full, blend, settings, start, weights, callback, started, plan, extra_loss
        )
        prepared += result_fields.pop("prepare_seconds")
        if settings.preserve_color is not None:
            painted = color.preserve_color(painted, content_full, settings.preserve_color)
    unmasked = painted
    if plan is not None:
        painted = composite(painted, content_full, plan.paint)
    image = _finished(to_numpy(painted), settings)
    layers = Layers(photo=photo)
    if plan is not None and float(plan.paint.min()) < 1.0:  # a mask was used: the PSD gets it as a layer mask
        mask = plan.paint[0, 0].detach().cpu().numpy().astype(np.float32)
        layers = Layers(photo=photo, mask=mask, painting=_finished(to_numpy(unmasked), settings))

    given = [content, *style_list, *(settings.style_masks or ())]
    if settings.mask is not None and os.path.exists(settings.mask):
        given.append(settings.mask)
    given += [settings.start] if init_picture is not None else []
    inputs = tuple(os.fspath(item) for item in given if isinstance(item, str | os.PathLike))
    alpha = None
    if content_picture.alpha is not None:
        alpha = imageio.resize(content_picture.alpha, final_size)
    finished = time.perf_counter()
    return StylizeResult(
        image=image,
        alpha=alpha,
        timings={"prepare": prepared - started, "optimize": finished - prepared, "total": finished - started},
        settings=settings,
        device=str(device),
        inputs=inputs,
        notes=plan.notes if plan is not None else [],
        source_bits=content_picture.bits,
        profile=content_picture.profile,
        tonemap=content_picture.tonemap,
        layers=layers,
        **result_fields,
    )


def _finished(image: FloatImage, settings: Settings) -> FloatImage:
    """The after-adjustments (denoise, brightness, ...), if any."""
    if settings.after.is_identity:
        return image
    from brushwork.finishing.after import apply_after

    return apply_after(settings.after, image)


def _adjust_before(picture: Picture, settings: Settings) -> Picture:
    """The photo after the before-adjustments (crop, rotate, flip, pad), alpha kept in step."""
    before = settings.before
    if before.is_identity:
        return picture
    from brushwork.finishing.before import apply_before

    adjusted = apply_before(before, picture.rgb, picture.alpha)
    return dataclasses.replace(picture, rgb=adjusted.rgb, alpha=adjusted.alpha)


def _run_optimize(
    content: torch.Tensor,
    styles: list[torch.Tensor],
    blend: Sequence[float],
    settings: Settings,
    start: torch.Tensor | None,
    weights: str | os.PathLike[str] | None,
    callback: Callback | None,
    started: float,
    plan: RegionPlan | None,
    extra_loss: ExtraLoss | None,
) -> tuple[torch.Tensor, dict[str, Any]]:
    from brushwork.engines.optimize.engine import optimize

    generator = torch.Generator().manual_seed(settings.seed) if settings.seed is not None else None
    run = optimize(
        content, styles, blend, settings,
        start=start, weights=weights, callback=callback, started=started, generator=generator,
        regions=plan.regions if plan is not None else (), extra_loss=extra_loss,
    )  # fmt: skip
    return run.rgb, {
        "losses": run.history[-1] if run.history else {},
        "history": [values["total"] for values in run.history],
        "precision": precision_name(run.dtype),
        "scales": run.scales,
        "weights": run.weights,
        "memory_budget": run.memory_budget,
        "plans": run.plans,
        "prepare_seconds": run.prepare_seconds,
    }


def _fast_start(
    content: torch.Tensor, styles: list[torch.Tensor], blend: Sequence[float], settings: Settings
) -> torch.Tensor:
    """The fast engine's picture, to start the optimizer from (colours are the optimizer's business:
    ``match_colors`` was already applied to ``styles``; ``preserve_color`` comes at the end)."""
    from brushwork.engines.feedforward.engine import paint

    # the same strength as the optimizer's, so that strength 0 starts (and stays) at the photo
    plain = settings.replace(match_colors=None, preserve_color=None)
    return paint(content, styles, blend, plain, max_memory=_memory(settings))


def _run_fast(
    content: torch.Tensor,
    styles: list[torch.Tensor],
    blend: Sequence[float],
    settings: Settings,
    started: float,
    callback: Callback | None,
    plan: RegionPlan | None,
) -> tuple[torch.Tensor, dict[str, Any]]:
    from brushwork.device import resolve_precision
    from brushwork.engines.feedforward.engine import paint
    from brushwork.engines.feedforward.weights import TRANSFORM_FILE, model_path

    if plan is None or len(plan.regions) == 1:
        painted = paint(content, styles, blend, settings, max_memory=_memory(settings))
    else:  # each region painted with its own styles, then put together by the regions' masks
        painted = torch.zeros_like(content)
        for mask, weights in plan.regions:
            region = paint(content, styles, weights, settings, max_memory=_memory(settings))
            painted += mask * region
        painted = torch.where(plan.paint > 0, painted / plan.paint.clamp_min(1e-6), content)
    size = (content.shape[-1], content.shape[-2])
    if callback is not None:
        callback(
            Progress(
                scale=1, scales=1, size=size, step=1, steps=1, done=1, total=1, losses={},
                elapsed=time.perf_counter() - started, _caffe=to_caffe(painted),
            )
        )  # fmt: skip
    return painted, {
        "losses": {},
        "history": [],
        "precision": precision_name(resolve_precision(settings.precision, content.device)),
        "scales": [size],
        "weights": str(model_path(TRANSFORM_FILE)),
    }


def _memory(settings: Settings) -> int | None:
    return parse_memory(settings.max_memory) if settings.max_memory else None
