"""Behaviour of stylize() with the real weights on small images."""

from pathlib import Path

import numpy as np
import pytest
import torch

import brushwork
from brushwork import Settings, color
from brushwork.api import Progress
from brushwork.engines.optimize import losses
from brushwork.engines.optimize.engine import pyramid_sizes
from brushwork.errors import SettingsError, UserInputError
from brushwork.features import VGG19Features, find_weights, load_weights, to_caffe
from brushwork.imageio import Picture, read_image, write_image

pytestmark = pytest.mark.slow

DATA = Path(__file__).parent / "data"
CONTENT = DATA / "tubingen.jpg"
STARRY = DATA / "starry_night.jpg"
SCREAM = DATA / "the_scream.jpg"
# The optimizer alone, from the photo, cheaply (the draft preset would start from the fast engine).
FAST = {"size": 64, "steps": 12, "quality": "draft", "init": "content", "pyramid": False, "seed": 0}


def tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1)[None]


def gram_distance(image: np.ndarray, style_path: Path) -> float:
    """Relative Gram distance over relu1_1..relu4_1 between an image and a style (same pixel count)."""
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]
    net = VGG19Features(load_weights(find_weights()), layers)
    style = read_image(style_path).rgb
    scale = (image.shape[0] * image.shape[1] / (style.shape[0] * style.shape[1])) ** 0.5
    size = (max(1, round(style.shape[1] * scale)), max(1, round(style.shape[0] * scale)))
    style = brushwork.imageio.resize(style, size)
    with torch.no_grad():
        a, b = net(to_caffe(tensor(image))), net(to_caffe(tensor(style)))
    total = 0.0
    for layer in layers:
        ga, gb = losses.gram_matrix(a[layer]), losses.gram_matrix(b[layer])
        total += float((ga - gb).pow(2).sum() / gb.pow(2).sum())
    return total


@pytest.fixture(scope="module")
def basic() -> brushwork.StylizeResult:
    return brushwork.stylize(CONTENT, STARRY, **FAST)


def test_style_loss_falls_and_output_differs_from_content(basic: brushwork.StylizeResult) -> None:
    content = brushwork.imageio.resize(read_image(CONTENT).rgb, basic.size)
    assert basic.history[-1] < 0.7 * basic.history[0]
    assert np.abs(basic.image - content).mean() > 0.03
    assert gram_distance(basic.image, STARRY) < 0.7 * gram_distance(content, STARRY)


def test_output_keeps_aspect_ratio_and_size(basic: brushwork.StylizeResult) -> None:
    width, height = read_image(CONTENT).size
    assert basic.size == (64, round(64 * height / width))
    assert basic.image.dtype == np.float32
    assert basic.image.min() >= 0.0 and basic.image.max() <= 1.0


def test_same_seed_gives_same_output() -> None:
    kwargs = {**FAST, "init": "noise", "steps": 5, "seed": 7}
    first = brushwork.stylize(CONTENT, STARRY, **kwargs)
    second = brushwork.stylize(CONTENT, STARRY, **kwargs)
    other = brushwork.stylize(CONTENT, STARRY, **{**kwargs, "seed": 8})
    assert np.array_equal(first.image, second.image)
    assert not np.array_equal(first.image, other.image)


def test_preserve_color_keeps_content_chroma() -> None:
    result = brushwork.stylize(CONTENT, STARRY, **FAST, preserve_color="ycbcr")
    plain = brushwork.stylize(CONTENT, STARRY, **FAST)
    content = tensor(brushwork.imageio.resize(read_image(CONTENT).rgb, result.size))
    chroma = lambda image: color.rgb_to_ycbcr(image)[:, 1:]  # noqa: E731
    kept = (chroma(tensor(result.image)) - chroma(content)).abs().mean().item()
    lost = (chroma(tensor(plain.image)) - chroma(content)).abs().mean().item()
    assert kept < 0.01
    assert lost > 2 * kept


def test_blend_weights_move_towards_heavier_style() -> None:
    towards_starry = brushwork.stylize(CONTENT, [STARRY, SCREAM], **FAST, style_blend=(0.9, 0.1))
    towards_scream = brushwork.stylize(CONTENT, [STARRY, SCREAM], **FAST, style_blend=(0.1, 0.9))
    assert gram_distance(towards_starry.image, STARRY) < gram_distance(towards_scream.image, STARRY)
    assert gram_distance(towards_scream.image, SCREAM) < gram_distance(towards_starry.image, SCREAM)


@pytest.mark.parametrize(
    "change",
    [{"style_loss": "meancov"}, {"optimizer": "adam", "steps": 20}, {"pooling": "avg"}, {"init": "noise"}],
)
def test_variants_reduce_the_loss(change: dict[str, object]) -> None:
    result = brushwork.stylize(CONTENT, STARRY, **{**FAST, **change})
    assert result.history[-1] < 0.8 * result.history[0]


def test_pyramid_runs_coarse_to_fine_and_reports_progress() -> None:
    events: list[Progress] = []
    result = brushwork.stylize(
        CONTENT, STARRY, size=96, pyramid_start=48, quality="draft", steps=3, seed=0, callback=events.append
    )
    assert result.scales == pyramid_sizes(result.size, 48, True)
    assert [max(s) for s in result.scales] == [48, 96]
    assert events[-1].done == events[-1].total == len(result.history)
    assert [e.scale for e in events] == sorted(e.scale for e in events)
    assert events[0].image().shape == (events[0].size[1], events[0].size[0], 3)


def test_coarse_steps_sets_the_work_of_the_coarser_scales() -> None:
    events: list[Progress] = []
    common = {"size": 96, "pyramid_start": 48, "quality": "draft", "steps": 2, "seed": 0}
    brushwork.stylize(CONTENT, STARRY, **common, coarse_steps=5, callback=events.append)
    assert events[-1].total == 5 + 2
    per_scale = [sum(e.scale == scale for e in events) for scale in (1, 2)]
    assert per_scale == [5, 2]
    with pytest.raises(SettingsError, match="coarse-steps"):
        Settings(coarse_steps=0)


def test_callback_exception_stops_the_run() -> None:
    class Stop(Exception):
        pass

    def stop_at_third(progress: Progress) -> None:
        if progress.done == 3:
            raise Stop

    with pytest.raises(Stop):
        brushwork.stylize(CONTENT, STARRY, **FAST, callback=stop_at_third)


def test_pyramid_sizes() -> None:
    assert pyramid_sizes((512, 384), 128, True) == [(128, 96), (256, 192), (512, 384)]
    assert pyramid_sizes((512, 384), 128, False) == [(512, 384)]
    assert pyramid_sizes((100, 50), 128, True) == [(100, 50)]


def test_alpha_is_kept(tmp_path: Path) -> None:
    rgb = read_image(CONTENT).rgb
    alpha = np.zeros(rgb.shape[:2], np.float32)
    alpha[:, : rgb.shape[1] // 2] = 1.0
    source = tmp_path / "rgba.png"
    write_image(source, rgb, alpha=alpha)
    result = brushwork.stylize(source, STARRY, **{**FAST, "steps": 2})
    assert result.alpha is not None
    assert result.alpha.shape == result.image.shape[:2]
    out = tmp_path / "out.png"
    result.save(out)
    saved = read_image(out)
    assert saved.alpha is not None
    assert saved.alpha[:, :10].mean() > 0.95 and saved.alpha[:, -10:].mean() < 0.05


def test_init_from_file_and_arrays(tmp_path: Path) -> None:
    grey = np.full((40, 50, 3), 0.5, np.float32)
    result = brushwork.stylize(
        Picture(grey, None, 8),
        (grey * 255).astype(np.uint8),
        size=50,
        steps=1,
        quality="draft",
        pyramid=False,
        init=str(STARRY),
    )
    starry = brushwork.imageio.resize(read_image(STARRY).rgb, result.size)
    # after one tiny first L-BFGS step the picture is still the init image, not the grey content
    assert np.abs(result.image - starry).mean() < np.abs(result.image - 0.5).mean()


def test_settings_are_validated() -> None:
    with pytest.raises(SettingsError, match="style-weight"):
        Settings(style_weight=-1)
    with pytest.raises(SettingsError, match="size"):
        Settings(size=0)
    with pytest.raises(SettingsError, match="relu9_9"):
        Settings(style_layers=("relu9_9",))
    with pytest.raises(SettingsError, match="style-blend"):
        brushwork.stylize(CONTENT, [STARRY], style_blend=(1.0, 2.0))
    with pytest.raises(UserInputError, match=r"missing\.jpg"):
        brushwork.stylize(DATA / "missing.jpg", STARRY)
    with pytest.raises(SettingsError):
        brushwork.stylize(CONTENT, STARRY, no_such_setting=1)


def test_bfloat16_objective_agrees_with_float32() -> None:
    """The network may run in bf16; losses stay float32 and close to the fp32 figures."""
    from brushwork.engines.optimize.objective import Objective, style_statistics

    settings = Settings()
    net = VGG19Features(load_weights(find_weights()), settings.content_layers + settings.style_layers)
    content = to_caffe(tensor(brushwork.imageio.resize(read_image(CONTENT).rgb, (48, 36))))
    style = to_caffe(tensor(brushwork.imageio.resize(read_image(STARRY).rgb, (48, 30))))
    start = content + 20 * torch.randn(content.shape, generator=torch.Generator().manual_seed(0))
    totals = {}
    for dtype in (torch.float32, torch.bfloat16):
        stats = style_statistics(net, [style], [1.0], settings, dtype)
        total, _ = Objective(net, settings, content, stats, dtype)(start)
        assert total.dtype == torch.float32
        totals[dtype] = total.item()
    assert totals[torch.bfloat16] == pytest.approx(totals[torch.float32], rel=0.05)


def test_strength_zero_keeps_the_photo_and_more_strength_means_more_style() -> None:
    content = brushwork.imageio.resize(read_image(CONTENT).rgb, (64, 48))
    results = {s: brushwork.stylize(CONTENT, STARRY, **FAST, strength=s) for s in (0.0, 0.3, 0.9)}
    assert np.abs(results[0.0].image - content).mean() < 0.01
    distances = [gram_distance(results[s].image, STARRY) for s in (0.0, 0.3, 0.9)]
    assert distances[0] > distances[1] > distances[2]


def test_strength_maps_to_loss_weights() -> None:
    assert Settings(strength=0.5).loss_weights == (1.0, 1.0)
    assert Settings(strength=0.0).loss_weights == (1.0, 0.0)
    assert Settings(strength=1.0).loss_weights == (1.0, pytest.approx(100.0))
    assert Settings(content_weight=2, style_weight=3).loss_weights == (2, 3)
    with pytest.raises(SettingsError, match="strength"):
        Settings(strength=1.5)


def test_steps_per_scale_build_the_forms_at_small_scales() -> None:
    """Normal and draft: each scale up to forms_size costs about the same (a quarter the iterations per
    doubling); the scales above it only sharpen, in the preset's few final iterations."""
    pyramid = [(128, 96), (256, 192), (512, 384)]
    assert Settings().steps_per_scale(pyramid) == [30, 7, 4]
    assert Settings().detail_scales(pyramid) == [False, False, True]
    assert Settings(quality="draft").steps_per_scale(pyramid) == [20, 5, 2]
    assert Settings(quality="high").steps_per_scale(pyramid) == [80, 20, 10]
    # larger outputs: more detail scales, fewer iterations where each costs more
    assert Settings().steps_per_scale([*pyramid, (1024, 768)]) == [30, 7, 4, 2]
    # a small output is all forms; its final scale is the forms' last
    assert Settings().steps_per_scale([(64, 48), (128, 96)]) == [30, 7]
    # the first scale builds the picture from the photo, whatever its size
    assert Settings(pyramid=False).detail_scales([(512, 384)]) == [False]
    assert Settings(pyramid=False).steps_per_scale([(512, 384)]) == [30]
    # the user's numbers win: steps at the final scale, coarse_steps at the first
    assert Settings(steps=7, coarse_steps=32).steps_per_scale(pyramid) == [32, 8, 7]
    assert Settings(forms_size=512).steps_per_scale(pyramid) == [30, 7, 2]  # 2: the preset's minimum
    assert Settings(forms_size=128).steps_per_scale(pyramid) == [30, 4, 4]


def test_steps_per_scale_without_forms_size() -> None:
    """forms_size 0: every scale optimises in full, coarse scales alike (the presets before issue 18)."""
    pyramid = [(128, 96), (256, 192), (512, 384)]
    assert Settings(quality="high", forms_size=0).steps_per_scale(pyramid) == [80, 80, 10]
    assert Settings(forms_size=0).detail_scales(pyramid) == [False, False, False]
    assert Settings(forms_size=0, coarse_steps=30, steps=25).steps_per_scale(pyramid) == [30, 30, 25]
    # A single scale builds the style from the photo: it gets the coarse scales' iterations ...
    assert Settings(forms_size=0).steps_per_scale([(192, 144)]) == [30]
    # ... unless the user asked for a number.
    assert Settings(forms_size=0, steps=7).steps_per_scale([(192, 144)]) == [7]
    assert Settings(forms_size=0, steps=7, coarse_steps=3).steps_per_scale(pyramid) == [3, 3, 7]
    # Above 512 x 512 pixels a scale gets fewer, in proportion, but never below the preset's minimum.
    large = [(960, 540), (1920, 1080), (3840, 2160)]
    assert Settings(quality="high", forms_size=0).steps_per_scale(large) == [41, 11, 4]
    with pytest.raises(SettingsError, match="forms-size"):
        Settings(forms_size=8)


def test_lbfgs_first_step_moves_every_value_by_the_set_amount() -> None:
    """torch's L-BFGS moves the whole picture by one grey level in all on its first step; brushwork's
    first step at each scale moves each value by FIRST_STEP grey levels on average."""
    from brushwork.engines.optimize.objective import FIRST_STEP, run_stage

    target = torch.linspace(-50, 50, 3 * 32 * 48).reshape(1, 3, 32, 48)

    class Quadratic:
        def evaluate(self, image: torch.Tensor, scale: float, on_tile: object = None) -> dict[str, float]:
            image.grad = None
            loss = (image - target).pow(2).mean()
            (loss * scale).backward()
            return {"total": float(loss.detach())}

    start = torch.zeros_like(target)
    moved = run_stage(start, Quadratic(), 1, Settings(), lambda image, values: None)
    assert (moved - start).abs().mean() == pytest.approx(FIRST_STEP, rel=0.2)
    # and the steps after it use the curvature: on a quadratic, the second step lands at the minimum
    solved = run_stage(start, Quadratic(), 2, Settings(), lambda image, values: None)
    assert (solved - target).abs().max() < 1e-3


def test_extra_loss_is_added_to_the_objective_and_moves_the_picture() -> None:
    """The hook video's temporal term uses: its value is reported and its gradient changes the result."""
    target = torch.zeros(1, 3, 48, 64)  # Caffe space: the ImageNet mean colour

    def pull_to_mean(image: torch.Tensor) -> torch.Tensor:
        return (
            1e3 * (image / 255 - torch.nn.functional.interpolate(target, size=image.shape[-2:])).pow(2).mean()
        )

    seen: list[float] = []
    plain = brushwork.stylize(CONTENT, STARRY, **FAST)
    pulled = brushwork.stylize(
        CONTENT, STARRY, **FAST, extra_loss=pull_to_mean, callback=lambda p: seen.append(p.losses["extra"])
    )
    assert seen[0] > 0 and seen[-1] < seen[0]
    mean_colour = np.array([123.68, 116.78, 103.94]) / 255  # what the pull moves every pixel toward
    assert np.abs(pulled.image - mean_colour).mean() < np.abs(plain.image - mean_colour).mean()
    with pytest.raises(SettingsError, match="only applies to method optimize"):
        brushwork.stylize(CONTENT, STARRY, method="fast", size=64, extra_loss=pull_to_mean)
