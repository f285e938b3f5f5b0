"""Memory budget: how much a scale of the transfer needs, and how to fit it into a budget.

The estimates are per pixel, measured on this project's VGG19 trunk (relu1_1 … relu5_1) in float32:
a forward and backward pass peaks at about 2.4 kB per input pixel, a forward pass alone at about
0.8 kB (see BENCHMARKS.md). Everything that grows with the image is counted; the rest (the Python
runtime, torch and the weights) is a fixed allowance.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from brushwork import sysmemory
from brushwork.errors import SettingsError, UserInputError

RUNTIME_BYTES = 600 * 2**20  # interpreter, torch libraries, VGG weights, slack
FORWARD_BACKWARD_BYTES_PER_PIXEL = 2700  # measured 2.1–2.4 kB; the rest is margin
FORWARD_BYTES_PER_PIXEL = 900  # measured 0.53–0.77 kB
IMAGE_BYTES_PER_PIXEL = 12  # one float32 RGB image
MAX_LBFGS_HISTORY = 100
MIN_LBFGS_HISTORY = 5
MIN_TILE_CORE = 64  # below this the halo dominates and tiling stops paying
GOOD_TILE_CORE = 512  # the halo costs under 1.9x from here up
TILE_ALIGN = 16  # VGG19's total pooling stride up to block 5: tiles must start on this grid

_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


class MemoryBudgetError(UserInputError):
    """The requested output cannot be made within the memory budget."""


def parse_memory(text: str | int) -> int:
    """``"6GB"``, ``"6G"``, ``"6GiB"``, ``"512MB"``, ``"1.5G"`` or a plain number of bytes → bytes.

    Units are binary (1 GB = 2**30 bytes), as ``free -g`` and most tools report memory.
    """
    if isinstance(text, int):
        value = text
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(?:I?B)?\s*", text.upper())
        if match is None:
            raise SettingsError(f"max-memory must look like 6GB, 512MB or a number of bytes, got {text!r}")
        value = int(float(match.group(1)) * _UNITS[match.group(2)])
    if value < 256 * 2**20:
        raise SettingsError(f"max-memory must be at least 256MB, got {text}")
    return value


def available_memory() -> int:
    """Memory the system can give this process now, in bytes: MemAvailable on Linux, or less where a
    cgroup (a container's limit) allows less (see :mod:`brushwork.sysmemory`)."""
    return sysmemory.available_memory()


# Without --max-memory a run first plans within this much (more buys little speed: the tiles' halo
# overhead is already under 1.7x at 6 GB and 3840 px) and takes more only when the size needs it.
COMFORTABLE_BUDGET = 6 * 2**30


def default_budgets() -> list[int]:
    """Budgets to try in turn without --max-memory: a comfortable one, then three quarters of the
    memory available now (leaving room for everything else running)."""
    most = int(available_memory() * 0.75)
    return [COMFORTABLE_BUDGET, most] if most > COMFORTABLE_BUDGET else [most]


def format_bytes(value: float) -> str:
    return f"{value / 2**30:.1f} GB" if value >= 2**30 else f"{value / 2**20:.0f} MB"


@dataclass(frozen=True)
class ScalePlan:
    """How one scale of the pyramid is run."""

    size: tuple[int, int]  # (width, height)
    tile: int | None  # side of a tile's core in pixels, or None for the whole image at once
    halo: int  # context added around each tile's core
    history: int  # L-BFGS history pairs
    estimate: int  # estimated peak bytes

    @property
    def tiled(self) -> bool:
        return self.tile is not None


def plan_scale(
    size: tuple[int, int],
    final_size: tuple[int, int],
    *,
    budget: int,
    halo: int,
    styles: int,
    target_bytes_per_pixel: float,
    optimizer: str,
    steps: int = MAX_LBFGS_HISTORY,
    tile: int | None = None,
) -> ScalePlan:
    """Choose whole-image or tiled optimisation, the tile size and L-BFGS's history for a scale.

    ``target_bytes_per_pixel`` is the size of the content features kept as targets, per image pixel;
    ``steps`` the evaluations planned at this scale (L-BFGS never keeps more pairs than that);
    ``tile`` forces tiles of that core size on scales larger than it. Raises
    :class:`MemoryBudgetError` when even the smallest tiles do not fit.
    """
    width, height = size
    pixels = width * height
    fixed = (
        RUNTIME_BYTES
        + IMAGE_BYTES_PER_PIXEL * final_size[0] * final_size[1] * 2  # the photo and the result at full size
        + IMAGE_BYTES_PER_PIXEL * pixels * (2 + styles)  # photo and styles at this scale
        + target_bytes_per_pixel * pixels
    )

    def optimizer_bytes(history: int) -> int:
        # image, gradient and L-BFGS's working vectors, plus two vectors per history pair
        vectors = 4 if optimizer == "adam" else 8 + 2 * history
        return vectors * IMAGE_BYTES_PER_PIXEL * pixels

    spare = budget - fixed
    whole = FORWARD_BACKWARD_BYTES_PER_PIXEL * pixels
    useful = min(MAX_LBFGS_HISTORY, max(1, steps))  # more pairs than evaluations are never filled
    least = min(MIN_LBFGS_HISTORY, useful)
    history = useful if optimizer != "adam" else 0
    forced = tile is not None and max(width, height) > tile
    # Prefer the whole image at once (no halo, one pass) while L-BFGS keeps a useful history.
    while not forced and (history >= min(20, useful) or optimizer == "adam"):
        if whole + optimizer_bytes(history) <= spare:
            return ScalePlan(size, None, 0, history, int(fixed + whole + optimizer_bytes(history)))
        if optimizer == "adam" or history == 0:
            break
        history //= 2
    # Tiled: L-BFGS keeps its useful history unless that leaves no room for a good tile.
    good_tile = FORWARD_BACKWARD_BYTES_PER_PIXEL * (GOOD_TILE_CORE + 2 * halo) ** 2
    history = useful if optimizer != "adam" else 0
    while history > least and optimizer_bytes(history) + good_tile > spare:
        history -= 1
    if forced:
        assert tile is not None
        estimate = (
            fixed + optimizer_bytes(history) + FORWARD_BACKWARD_BYTES_PER_PIXEL * (tile + 2 * halo) ** 2
        )
        if estimate > budget:
            raise _too_big(size, final_size, budget, estimate)
        return ScalePlan(size, tile, halo, history, int(estimate))
    tile_bytes = spare - optimizer_bytes(history)
    side = math.isqrt(max(0, int(tile_bytes // FORWARD_BACKWARD_BYTES_PER_PIXEL)))
    core = (side - 2 * halo) // TILE_ALIGN * TILE_ALIGN
    if core < MIN_TILE_CORE:
        raise _too_big(size, final_size, budget, fixed + optimizer_bytes(history))
    if core >= max(width, height):  # one tile would hold it all: run it whole, with this history
        return ScalePlan(size, None, 0, history, int(fixed + whole + optimizer_bytes(history)))
    tile_peak = FORWARD_BACKWARD_BYTES_PER_PIXEL * (core + 2 * halo) ** 2
    return ScalePlan(size, core, halo, history, int(fixed + optimizer_bytes(history) + tile_peak))


def _too_big(
    size: tuple[int, int], final_size: tuple[int, int], budget: int, needed: float
) -> MemoryBudgetError:
    scale = "" if size == final_size else f" at its {size[0]}x{size[1]} scale"
    return MemoryBudgetError(
        f"a {final_size[0]}x{final_size[1]} result does not fit in a memory budget of "
        f"{format_bytes(budget)} (needs more than {format_bytes(needed)}{scale}): lower --size, or "
        "raise --max-memory if the machine has the memory"
    )
