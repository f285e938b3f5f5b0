"""``stylize()``: the one entry point. Read → preprocess → features → losses → optimize → postprocess."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from brushwork import color, imageio
from brushwork.config import Settings
from brushwork.device import preferred_memory_format, resolve_precision
from brushwork.errors import SettingsError, UserInputError
from brushwork.features import VGG19Features, find_weights, load_weights
from brushwork.features.vgg import from_caffe, layer_stride, to_caffe
from brushwork.imageio import Picture
from brushwork.memory import (
    MemoryBudgetError,
    ScalePlan,
    default_budgets,
    format_bytes,
    parse_memory,
    plan_scale,
)
from brushwork.optimize import Evaluator, Objective, resize_caffe, run_stage, style_statistics
from brushwork.tiles import TiledObjective, receptive_halo, tiled_style_statistics

ImageInput = str | os.PathLike[str] | Picture | npt.NDArray[Any]
FloatImage = npt.NDArray[np.float32]

# Gaussian noise for ``init="noise"``, in 0–255 pixel units around the ImageNet mean.
NOISE_STD = 48.0


@dataclass(frozen=True)
class Progress:
    """Sent to the callback after every loss evaluation."""

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
        return _to_numpy(from_caffe(self._caffe))


Callback = Callable[[Progress], None]


@dataclass(frozen=True)
class StylizeResult:
    image: FloatImage  # (H, W, 3) float32 sRGB in [0, 1]
    alpha: FloatImage | None  # (H, W) float32, from the content image
    losses: dict[str, float]  # the last evaluation's terms (weighted) and total
    history: list[float]  # total loss after every evaluation
    timings: dict[str, float]  # seconds: prepare, optimize, total
    settings: Settings
    device: str
    precision: str
    scales: list[tuple[int, int]]
    weights: str
    memory_budget: int = 0  # bytes the run was planned to stay within
    plans: list[ScalePlan] = field(default_factory=list)  # how each scale was run (tiles, history)

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
            "weights": self.weights,
            "memory": {
                "budget_mb": round(self.memory_budget / 2**20),
                "tiles": [plan.tile for plan in self.plans],
                "lbfgs_history": [plan.history for plan in self.plans],
            },
            "settings": self.settings.to_dict(),
        }

    def save(self, path: str | os.PathLike[str], *, bits: int = 8, sidecar: bool = False) -> None:
        """Write the picture (atomically), with the settings in PNG text metadata; optionally a
        ``<path>.json`` sidecar holding the same record."""
        record = self.record()
        metadata = {"Software": "brushwork", "brushwork": json.dumps(record, sort_keys=True)}
        imageio.write_image(path, self.image, alpha=self.alpha, bits=bits, metadata=metadata)
        if sidecar:
            _write_text_atomic(Path(f"{os.fspath(path)}.json"), json.dumps(record, indent=2) + "\n")


def _write_text_atomic(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _to_numpy(rgb: torch.Tensor) -> FloatImage:
    array = rgb.detach().float().clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
    return np.ascontiguousarray(array, dtype=np.float32)


def _to_tensor(rgb: npt.NDArray[Any], device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None].to(device)


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


def pyramid_sizes(final: tuple[int, int], start: int, enabled: bool) -> list[tuple[int, int]]:
    """Scales from coarse to fine, halving the long side from ``final`` until below ``start``."""
    long_side = max(final)
    sizes = [final]
    if enabled:
        while long_side // 2 >= start:
            long_side //= 2
            sizes.append(imageio.fit_long_side(final, long_side))
    return sizes[::-1]


def _style_size(style: tuple[int, int], stage: tuple[int, int], scale: float) -> tuple[int, int]:
    """The style is shown at the same pixel count as the output (times ``scale`` squared)."""
    area = stage[0] * stage[1] * scale * scale
    aspect = style[0] / style[1]
    height = max(1, round((area / aspect) ** 0.5))
    width = max(1, round(height * aspect))
    return (width, height)


def stylize(
    content: ImageInput,
    styles: ImageInput | Sequence[ImageInput],
    *,
    settings: Settings | None = None,
    device: str | torch.device = "cpu",
    weights: str | os.PathLike[str] | None = None,
    callback: Callback | None = None,
    **overrides: Any,
) -> StylizeResult:
    """Paint ``content`` in the style of ``styles``.

    ``settings`` holds every option (see :class:`brushwork.Settings`); keyword ``overrides`` replace
    single fields, e.g. ``stylize("photo.jpg", "starry.jpg", size=768, seed=1)``. ``device`` is used
    as given. ``callback`` receives a :class:`Progress` after every loss evaluation; an exception
    raised there stops the run and propagates.
    """
    started = time.perf_counter()
    try:
        settings = (settings or Settings()).replace(**overrides)
    except TypeError as error:
        raise SettingsError(str(error)) from error
    device = torch.device(device)
    style_list: list[ImageInput] = list(styles) if isinstance(styles, list | tuple) else [styles]  # type: ignore[list-item]
    if not style_list:
        raise UserInputError("at least one style image is needed")
    blend = settings.style_blend or tuple(1.0 for _ in style_list)
    if len(blend) != len(style_list):
        raise SettingsError(f"style-blend has {len(blend)} weights for {len(style_list)} style images")

    content_picture = as_picture(content, "content")
    style_pictures = [as_picture(style, "style") for style in style_list]
    init_picture = None if settings.init in ("content", "noise") else as_picture(settings.init, "init")
    source = find_weights(weights)
    dtype = resolve_precision(settings.precision, device)
    memory_format = preferred_memory_format(device)
    generator = torch.Generator().manual_seed(settings.seed) if settings.seed is not None else None

    final_size = imageio.fit_long_side(content_picture.size, settings.size)
    net = VGG19Features(
        load_weights(source),
        settings.content_layers + settings.style_layers,
        pooling=settings.pooling,
        padding=settings.padding,
    ).to(device=device)
    net = net.to(memory_format=memory_format)  # type: ignore[call-overload]

    sizes = pyramid_sizes(final_size, settings.pyramid_start, settings.pyramid)
    steps = settings.steps_per_scale(sizes)
    budgets = [parse_memory(settings.max_memory)] if settings.max_memory else default_budgets()
    for budget in budgets:
        try:
            plans = _plan_memory(sizes, steps, final_size, budget, net, settings, len(style_pictures))
            break
        except MemoryBudgetError:
            if budget == budgets[-1]:
                raise

    content_full = _to_tensor(imageio.resize(content_picture.rgb, final_size), device)
    style_full = [_to_tensor(p.rgb, device) for p in style_pictures]
    if settings.match_colors is not None:
        style_full = [color.match_color(s, content_full, settings.match_colors) for s in style_full]
    total = sum(steps)
    history: list[dict[str, float]] = []
    prepared = time.perf_counter()
    image: torch.Tensor | None = None

    for index, (size, stage_steps, plan) in enumerate(zip(sizes, steps, plans, strict=True)):
        reporter = _Reporter(index + 1, len(sizes), size, stage_steps, total, started, history, callback)
        try:
            image = _run_scale(
                image, size, stage_steps, plan, reporter, net, settings, content_full, style_full, blend,
                init_picture, generator, dtype, memory_format,
            )  # fmt: skip
        except (MemoryError, RuntimeError) as error:
            if isinstance(error, RuntimeError) and not _is_out_of_memory(error):
                raise
            raise MemoryBudgetError(
                f"ran out of memory at {size[0]}x{size[1]} (planned for {format_bytes(budget)}): lower "
                "--size or --max-memory"
            ) from error

    assert image is not None
    rgb = from_caffe(image.float()).clamp(0, 1)
    if settings.preserve_color is not None:
        rgb = color.preserve_color(rgb, content_full, settings.preserve_color)
    alpha = None
    if content_picture.alpha is not None:
        alpha = imageio.resize(content_picture.alpha, final_size)
    finished = time.perf_counter()
    return StylizeResult(
        image=_to_numpy(rgb),
        alpha=alpha,
        losses=history[-1] if history else {},
        history=[values["total"] for values in history],
        timings={
            "prepare": prepared - started,
            "optimize": finished - prepared,
            "total": finished - started,
        },
        settings=settings,
        device=str(device),
        precision="bf16" if dtype == torch.bfloat16 else "fp32",
        scales=sizes,
        weights=str(source.path),
        memory_budget=budget,
        plans=plans,
    )


def _plan_memory(
    sizes: Sequence[tuple[int, int]],
    steps: Sequence[int],
    final_size: tuple[int, int],
    budget: int,
    net: VGG19Features,
    settings: Settings,
    styles: int,
) -> list[ScalePlan]:
    """Plan every scale before any work, so a request that cannot fit fails at once."""
    halo = receptive_halo(net.names)
    target_bytes = sum(
        4 * net.channels(layer) / layer_stride(layer) ** 2 for layer in settings.content_layers
    )
    return [
        plan_scale(
            size,
            final_size,
            budget=budget,
            halo=halo,
            styles=styles,
            target_bytes_per_pixel=target_bytes,
            optimizer=settings.optimizer,
            steps=scale_steps,
            tile=settings.tile_size,
        )
        for size, scale_steps in zip(sizes, steps, strict=True)
    ]


def _is_out_of_memory(error: RuntimeError) -> bool:
    text = str(error).lower()
    return (
        "out of memory" in text
        or "can't allocate memory" in text
        or isinstance(error, torch.OutOfMemoryError)
    )


def _run_scale(
    image: torch.Tensor | None,
    size: tuple[int, int],
    steps: int,
    plan: ScalePlan,
    reporter: _Reporter,
    net: VGG19Features,
    settings: Settings,
    content_full: torch.Tensor,
    style_full: Sequence[torch.Tensor],
    blend: Sequence[float],
    init_picture: Picture | None,
    generator: torch.Generator | None,
    dtype: torch.dtype,
    memory_format: torch.memory_format,
) -> torch.Tensor:
    """Optimise one scale of the pyramid, whole or in tiles as ``plan`` says."""
    content_stage = to_caffe(resize_caffe(content_full, size))
    style_stage = [
        to_caffe(resize_caffe(s, _style_size((s.shape[-1], s.shape[-2]), size, settings.style_scale)))
        for s in style_full
    ]
    objective: Evaluator
    if plan.tile is not None:
        stats = tiled_style_statistics(
            net, style_stage, blend, settings, dtype, memory_format, plan.tile, plan.halo
        )
        objective = TiledObjective(
            net, settings, content_stage, stats, dtype, memory_format, plan.tile, plan.halo
        )
    else:
        style_stage = [s.contiguous(memory_format=memory_format) for s in style_stage]
        stats = style_statistics(net, style_stage, blend, settings, dtype)
        objective = Objective(
            net, settings, content_stage.contiguous(memory_format=memory_format), stats, dtype, memory_format
        )
    del style_stage
    if image is None:
        image = _initial_image(settings, content_stage, init_picture, size, generator)
    else:
        image = resize_caffe(image, size)
    del content_stage
    image = image.contiguous()  # L-BFGS flattens the gradient, which needs the default layout
    return run_stage(image, objective, steps, settings, reporter, history=plan.history, on_tile=reporter.tile)


@dataclass
class _Reporter:
    """Counts evaluations within a scale and turns each into a :class:`Progress` for the callback."""

    scale: int
    scales: int
    size: tuple[int, int]
    steps: int
    total: int
    started: float
    history: list[dict[str, float]]
    callback: Callback | None
    step: int = 0

    def tile(self, image: torch.Tensor, done: int, tiles: int) -> None:
        self._send(image, dict(self.history[-1]) if self.history else {}, (done, tiles))

    def __call__(self, image: torch.Tensor, values: dict[str, float]) -> None:
        self.step += 1
        self.history.append(values)
        self._send(image, dict(values), None)

    def _send(self, image: torch.Tensor, losses: dict[str, float], tile: tuple[int, int] | None) -> None:
        if self.callback is not None:
            self.callback(
                Progress(
                    scale=self.scale,
                    scales=self.scales,
                    size=self.size,
                    step=self.step,
                    steps=self.steps,
                    done=len(self.history),
                    total=self.total,
                    losses=losses,
                    elapsed=time.perf_counter() - self.started,
                    _caffe=image,
                    tile=tile,
                )
            )


def _initial_image(
    settings: Settings,
    content: torch.Tensor,
    init_picture: Picture | None,
    size: tuple[int, int],
    generator: torch.Generator | None,
) -> torch.Tensor:
    if settings.init == "content":
        return content.clone()
    if settings.init == "noise":
        noise = torch.randn(content.shape, generator=generator, dtype=torch.float32) * NOISE_STD
        return noise.to(content.device)
    assert init_picture is not None
    return to_caffe(_to_tensor(imageio.resize(init_picture.rgb, size), content.device))
