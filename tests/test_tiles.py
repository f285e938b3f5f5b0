"""Tiled optimisation: same loss and gradient as the whole image, no seams, memory within budget."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import brushwork
from brushwork.api import Progress
from brushwork.config import Settings
from brushwork.engines.optimize import memory
from brushwork.engines.optimize.memory import MemoryBudgetError, parse_memory, plan_scale
from brushwork.engines.optimize.objective import Objective, style_statistics
from brushwork.engines.optimize.tiles import (
    TiledObjective,
    plan_tiles,
    receptive_halo,
    tiled_style_statistics,
)
from brushwork.features import VGG19Features, find_weights, load_weights
from brushwork.features.vgg import LAYER_NAMES, to_caffe
from brushwork.imageio import read_image, resize
from brushwork.progress import to_tensor as _to_tensor


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    return load_weights(find_weights(None))


def caffe(path: Path, size: tuple[int, int]) -> torch.Tensor:
    return to_caffe(_to_tensor(resize(read_image(path).rgb, size), torch.device("cpu")))


def test_tiles_cover_every_pixel_once_on_the_pooling_grid() -> None:
    tiles = plan_tiles(300, 517, 128, 96)
    cover = np.zeros((300, 517), dtype=int)
    for tile in tiles:
        cover[tile.top : tile.bottom, tile.left : tile.right] += 1
        assert tile.top % 16 == 0 and tile.left % 16 == 0 and tile.pad_top % 16 == 0
        assert tile.bottom - tile.top <= 128 and tile.right - tile.left <= 128
    assert (cover == 1).all()
    # balanced: no thin leftover strip
    assert min(t.right - t.left for t in tiles) >= 64


def test_halo_covers_the_receptive_field() -> None:
    names = LAYER_NAMES[: LAYER_NAMES.index("relu5_1") + 1]
    assert receptive_halo(names) == 96  # relu5_1 sees 156 px: radius 78 plus one feature step


@pytest.mark.parametrize("style_loss", ["gram", "meancov"])
def test_tiled_loss_and_gradient_equal_the_whole_image(
    state: dict[str, torch.Tensor], content_image: Path, style_image: Path, style_loss: str
) -> None:
    settings = Settings(style_loss=style_loss, tv_weight=5.0)  # type: ignore[arg-type]
    net = VGG19Features(state, settings.content_layers + settings.style_layers, padding="replicate")
    content = caffe(content_image, (200, 150))
    style = caffe(style_image, (190, 160))
    stats = style_statistics(net, [style], [1.0], settings, torch.float32)
    tiled_stats = tiled_style_statistics(
        net, [style], [1.0], settings, torch.float32, torch.contiguous_format, 64, 96
    )
    for layer in settings.style_layers:
        expected = stats.gram[layer] if style_loss == "gram" else stats.covariance[layer]
        got = tiled_stats.gram[layer] if style_loss == "gram" else tiled_stats.covariance[layer]
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5 * float(expected.abs().max()))

    image = (
        content + torch.randn(content.shape, generator=torch.Generator().manual_seed(0)) * 20
    ).requires_grad_()
    whole = Objective(net, settings, content, stats, torch.float32).evaluate(image, 1000.0)
    whole_grad = image.grad.clone()  # type: ignore[union-attr]
    tiled_objective = TiledObjective(
        net, settings, content, stats, torch.float32, torch.contiguous_format, 64, 96
    )
    assert len(tiled_objective.tiles) == 12
    seen: list[tuple[int, int]] = []
    tiled = tiled_objective.evaluate(image, 1000.0, lambda done, total: seen.append((done, total)))
    assert seen == [(k, 12) for k in range(1, 13)]
    for name in ("content", "style", "tv", "total"):
        assert tiled[name] == pytest.approx(whole[name], rel=1e-4), name
    torch.testing.assert_close(image.grad, whole_grad, rtol=1e-3, atol=1e-3 * float(whole_grad.abs().max()))


def test_tiled_run_matches_the_untiled_run_and_shows_no_seams(content_image: Path, style_image: Path) -> None:
    """Tiles forced at the last scale (2 × 2); the picture must match the untiled one."""
    common = dict(size=256, steps=6, seed=0, quality="draft", init="content", pyramid_start=128)
    untiled = brushwork.stylize(content_image, style_image, **common)
    events: list[Progress] = []
    tiled = brushwork.stylize(content_image, style_image, tile_size=128, callback=events.append, **common)
    assert untiled.plans[-1].tile is None
    assert tiled.plans[0].tile is None  # the 128 px scale fits in one tile
    tile = tiled.plans[-1].tile
    assert tile == 128
    assert any(e.tile is not None for e in events)
    difference = np.abs(tiled.image - untiled.image)
    assert float(difference.mean()) < 2e-3, float(difference.mean())

    # Seam check: the luminance step across core borders against every column on the same 16 px
    # phase (borders lie on that grid, and VGG's pooling leaves a faint period-4 texture).
    luma = tiled.image.mean(axis=2)
    across = np.abs(np.diff(luma, axis=1)).mean(axis=0)
    width = luma.shape[1]
    borders = sorted({t.right for t in plan_tiles(luma.shape[0], width, tile, 96) if t.right < width})
    assert borders
    at_borders = float(across[[b - 1 for b in borders]].mean())
    same_phase = float(across[(borders[0] - 1) % 16 :: 16].mean())
    assert at_borders < 1.3 * same_phase, (at_borders, same_phase)


def test_memory_plan_tiles_when_the_whole_image_does_not_fit() -> None:
    halo = 96
    kwargs = dict(halo=halo, styles=1, target_bytes_per_pixel=32.0, optimizer="lbfgs")
    small = plan_scale((512, 384), (512, 384), budget=parse_memory("6GB"), **kwargs)  # type: ignore[arg-type]
    assert small.tile is None and small.history == 100
    big = plan_scale((3840, 2160), (3840, 2160), budget=parse_memory("6GB"), **kwargs)  # type: ignore[arg-type]
    assert big.tile is not None and big.tile % 16 == 0
    assert 5 <= big.history < 100
    assert big.estimate <= parse_memory("6GB")
    with pytest.raises(MemoryBudgetError, match="lower --size"):
        plan_scale((7680, 4320), (7680, 4320), budget=parse_memory("1GB"), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"), [("6GB", 6 * 2**30), ("512m", 512 * 2**20), ("1.5GiB", 3 * 2**29)]
)
def test_parse_memory(text: str, expected: int) -> None:
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text", ["lots", "6XB", "10MB", "-1G"])
def test_parse_memory_rejects_nonsense(text: str) -> None:
    with pytest.raises(brushwork.SettingsError, match="max-memory"):
        Settings(max_memory=text)


def test_peak_memory_stays_within_a_small_budget(
    tmp_path: Path, content_image: Path, style_image: Path
) -> None:
    """In a fresh process, so the peak is this run's own: 480 px in 1 GB must tile and stay under it.

    The peak is the process's VmHWM: ``ru_maxrss`` would also count the parent's memory, which the
    child shares between fork (or vfork) and exec."""
    script = f"""
import sys, torch
torch.set_num_threads(1)
import brushwork
r = brushwork.stylize({str(content_image)!r}, {str(style_image)!r}, size=480, steps=1, quality="draft",
                      pyramid=False, max_memory="1GB", seed=0)
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(r.plans[-1].tile, int(hwm.split()[1]) * 1024)
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    tile, peak = out[0], int(out[1])
    print("tile", tile, "peak MB", peak // 2**20)
    assert tile != "None"
    assert peak <= parse_memory("1GB"), peak


def test_default_budget_is_comfortable_first_then_what_the_machine_has(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(memory, "available_memory", lambda: 24 * 2**30)
    assert memory.default_budgets() == [6 * 2**30, 18 * 2**30]
    monkeypatch.setattr(memory, "available_memory", lambda: 4 * 2**30)
    assert memory.default_budgets() == [3 * 2**30]


def test_big_request_fails_before_any_work(content_image: Path, style_image: Path) -> None:
    with pytest.raises(MemoryBudgetError, match="a 8000x6000 result does not fit"):
        brushwork.stylize(content_image, style_image, size=8000, max_memory="2GB")
