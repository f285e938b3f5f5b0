"""The optimizer engine's orchestration: plan every scale of the pyramid, then optimise each one, whole
or in tiles, starting from the previous scale's result (or the start image at the first)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from brushwork import imageio
from brushwork.config import Settings
from brushwork.device import preferred_memory_format, resolve_precision
from brushwork.engines.optimize.memory import (
    MemoryBudgetError,
    ScalePlan,
    default_budgets,
    format_bytes,
    parse_memory,
    plan_scale,
)
from brushwork.engines.optimize.objective import (
    Evaluator,
    ExtraLoss,
    Objective,
    Region,
    resize_caffe,
    run_stage,
    style_statistics,
)
from brushwork.engines.optimize.tiles import TiledObjective, receptive_halo, tiled_style_statistics
from brushwork.errors import SettingsError
from brushwork.features import VGG19Features, find_weights, load_weights
from brushwork.features.vgg import from_caffe, layer_stride, to_caffe
from brushwork.progress import Callback, Progress

# A region of the picture: its mask (1, 1, H, W) in [0, 1] at the output's size, and the weight of
# each style image in it.
RegionSpec = tuple[torch.Tensor, tuple[float, ...]]

# Gaussian noise for ``init="noise"``, in 0–255 pixel units around the ImageNet mean.
NOISE_STD = 48.0


@dataclass(frozen=True)
class OptimizeResult:
    rgb: torch.Tensor  # (1, 3, H, W) sRGB in [0, 1], float32
    history: list[dict[str, float]]  # the loss terms of every evaluation
    scales: list[tuple[int, int]]
    plans: list[ScalePlan]
    memory_budget: int
    weights: str
    dtype: torch.dtype
    prepare_seconds: float  # loading the network and planning memory


def pyramid_sizes(final: tuple[int, int], start: int, enabled: bool) -> list[tuple[int, int]]:
    """Scales from coarse to fine, halving the long side from ``final`` until below ``start``."""
    long_side = max(final)
    sizes = [final]
    if enabled:
        while long_side // 2 >= start:
            long_side //= 2
            sizes.append(imageio.fit_long_side(final, long_side))
    return sizes[::-1]


def style_size(style: tuple[int, int], stage: tuple[int, int], scale: float) -> tuple[int, int]:
    """The style is shown at the same pixel count as the output (times ``scale`` squared)."""
    area = stage[0] * stage[1] * scale * scale
    aspect = style[0] / style[1]
    height = max(1, round((area / aspect) ** 0.5))
    width = max(1, round(height * aspect))
    return (width, height)


def optimize(
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    blend: Sequence[float],
    settings: Settings,
    *,
    start: torch.Tensor | None,
    weights: str | os.PathLike[str] | None,
    callback: Callback | None,
    started: float,
    generator: torch.Generator | None,
    regions: Sequence[RegionSpec] = (),
    extra_loss: ExtraLoss | None = None,
) -> OptimizeResult:
    """Optimise a picture of ``content``'s size (1, 3, H, W, sRGB in [0, 1]) against the blended
    ``styles``. ``start`` is the picture to begin from (any size; None: as ``settings.init`` says).
    ``regions``: (mask, blend) pairs, each region painted after its own blend of the styles.
    ``extra_loss`` is added to the objective at every scale (see :class:`Objective`)."""
    began = time.perf_counter()
    device = content.device
    source = find_weights(weights)
    dtype = resolve_precision(settings.precision, device)
    memory_format = preferred_memory_format(device)
    final_size = (content.shape[-1], content.shape[-2])
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
            plans = _plan_memory(
                sizes, steps, final_size, budget, net, settings, len(styles) * max(1, len(regions))
            )
            break
        except MemoryBudgetError:
            if budget == budgets[-1]:
                raise
    prepared = time.perf_counter()

    total = sum(steps)
    history: list[dict[str, float]] = []
    image: torch.Tensor | None = None
    for index, (size, stage_steps, plan) in enumerate(zip(sizes, steps, plans, strict=True)):
        reporter = _Reporter(index + 1, len(sizes), size, stage_steps, total, started, history, callback)
        try:
            image = _run_scale(
                image, size, stage_steps, plan, reporter, net, settings, content, styles, blend, start,
                generator, dtype, memory_format, regions, extra_loss,
            )  # fmt: skip
        except (MemoryError, RuntimeError) as error:
            if isinstance(error, RuntimeError) and not _is_out_of_memory(error):
                raise
            raise MemoryBudgetError(
                f"ran out of memory at {size[0]}x{size[1]} (planned for {format_bytes(budget)}): lower "
                "--size or --max-memory"
            ) from error
    assert image is not None
    return OptimizeResult(
        rgb=from_caffe(image.float()).clamp(0, 1),
        history=history,
        scales=sizes,
        plans=plans,
        memory_budget=budget,
        weights=str(source.path),
        dtype=dtype,
        prepare_seconds=prepared - began,
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
    start: torch.Tensor | None,
    generator: torch.Generator | None,
    dtype: torch.dtype,
    memory_format: torch.memory_format,
    regions: Sequence[RegionSpec],
    extra_loss: ExtraLoss | None,
) -> torch.Tensor:
    """Optimise one scale of the pyramid, whole or in tiles as ``plan`` says."""
    content_stage = to_caffe(resize_caffe(content_full, size))
    style_stage = [
        to_caffe(resize_caffe(s, style_size((s.shape[-1], s.shape[-2]), size, settings.style_scale)))
        for s in style_full
    ]
    objective: Evaluator
    if (regions or extra_loss is not None) and plan.tile is not None:
        what = "masks and regions do" if regions else "an extra loss (video's temporal term) does"
        raise SettingsError(
            f"{what} not work yet at sizes that are optimised in tiles ({size[0]}x{size[1]} here): lower "
            "--size or raise --max-memory"
        )
    if regions:
        style_stage = [s.contiguous(memory_format=memory_format) for s in style_stage]
        guided = [
            Region(
                mask=F.interpolate(mask, size=(size[1], size[0]), mode="area"),
                style=style_statistics(net, style_stage, weights, settings, dtype),
            )
            for mask, weights in regions
        ]
        stats = guided[0].style
        objective = Objective(
            net, settings, content_stage.contiguous(memory_format=memory_format), stats, dtype, memory_format,
            regions=guided, extra_loss=extra_loss,
        )  # fmt: skip
    elif plan.tile is not None:
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
            net, settings, content_stage.contiguous(memory_format=memory_format), stats, dtype, memory_format,
            extra_loss=extra_loss,
        )  # fmt: skip
    del style_stage
    if image is None:
        image = _initial_image(settings, content_stage, start, size, generator)
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
    start: torch.Tensor | None,
    size: tuple[int, int],
    generator: torch.Generator | None,
) -> torch.Tensor:
    if start is not None:
        return to_caffe(resize_caffe(start.to(content.device), size))
    if settings.init == "noise":
        noise = torch.randn(content.shape, generator=generator, dtype=torch.float32) * NOISE_STD
        return noise.to(content.device)
    return content.clone()
