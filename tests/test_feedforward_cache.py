"""The fast engine's weight cache: written on first use, read (without onnx) after, never trusted when
it does not check out, and never needed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import brushwork
from brushwork.engines.feedforward import weights as ff_weights

DATA = Path(__file__).parent / "data"
NAMES = (ff_weights.TRANSFORM_FILE, ff_weights.PREDICTOR_FILE)
READ_ONNX = ff_weights.read_onnx  # the real one, which the onnx_reads fixture counts calls of


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache directory of this test's own, and no graph kept in memory before or after."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(ff_weights.CACHE_ENV, str(folder))
    ff_weights.load_graph.cache_clear()
    yield folder
    ff_weights.load_graph.cache_clear()


@pytest.fixture
def onnx_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The ONNX files read through ``read_onnx`` from now on."""
    reads: list[Path] = []

    def counting(path: Path) -> ff_weights.GraphWeights:
        reads.append(path)
        return READ_ONNX(path)

    monkeypatch.setattr(ff_weights, "read_onnx", counting)
    return reads


def cache_file(name: str) -> Path:
    path = ff_weights.cache_file(name, ff_weights.SHA256[name])
    assert path is not None
    return path


def fresh(name: str) -> ff_weights.GraphWeights:
    """The graph dequantised from its ONNX file now, past any cache."""
    return READ_ONNX(ff_weights.model_path(name))


def assert_same(graph: ff_weights.GraphWeights, reference: ff_weights.GraphWeights) -> None:
    assert graph.convs.keys() == reference.convs.keys()
    for key, conv in graph.convs.items():
        expected = reference.convs[key]
        assert conv.weight.dtype == expected.weight.dtype == torch.float32
        assert torch.equal(conv.weight, expected.weight), key
        assert torch.equal(conv.bias, expected.bias), key
        assert (conv.stride, conv.pads, conv.groups) == (expected.stride, expected.pads, expected.groups)
    assert graph.constants == reference.constants
    assert graph.path == reference.path


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ff_weights.CACHE_ENV, str(tmp_path / "mine"))
    assert ff_weights.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv(ff_weights.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert ff_weights.cache_dir() == tmp_path / "xdg" / "brushwork"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/not/allowed")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert ff_weights.cache_dir() == tmp_path / "home" / ".cache" / "brushwork"
    name = ff_weights.TRANSFORM_FILE
    path = ff_weights.cache_file(name, ff_weights.SHA256[name])
    assert path is not None
    assert ff_weights.SHA256[name][:16] in path.name and f"v{ff_weights.CACHE_FORMAT}" in path.name


def test_cache_is_written_on_first_use_and_read_on_the_second(cache: Path, onnx_reads: list[Path]) -> None:
    first = {name: ff_weights.load_graph(name) for name in NAMES}
    assert [path.name for path in onnx_reads] == list(NAMES)
    assert all(cache_file(name).is_file() for name in NAMES)
    # and nothing else: no temporary file is left behind
    assert sorted(p.name for p in cache.iterdir()) == sorted(cache_file(n).name for n in NAMES)

    ff_weights.load_graph.cache_clear()
    second = {name: ff_weights.load_graph(name) for name in NAMES}
    assert len(onnx_reads) == 2  # both came from the cache
    for name in NAMES:
        assert_same(second[name], first[name])


def test_cached_parameters_equal_the_dequantised_ones_exactly(cache: Path) -> None:
    for name in NAMES:
        ff_weights.load_graph(name)  # writes the cache
    ff_weights.load_graph.cache_clear()
    for name in NAMES:
        assert_same(ff_weights.load_graph(name), fresh(name))


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    payload = torch.load(path, weights_only=True)
    change(payload)
    torch.save(payload, path)


def _flip_one_weight(payload: dict[str, Any]) -> None:
    values = payload["values"]
    values[1000] = torch.nextafter(values[1000], torch.tensor(np.inf))


def _drop_one_conv(payload: dict[str, Any]) -> None:
    payload["layout"].pop(next(iter(payload["layout"])))


def _resum(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def changed_and_summed(payload: dict[str, Any]) -> None:
        change(payload)
        payload["digest"] = ff_weights._digest(payload["values"], payload["layout"], payload["constants"])

    return changed_and_summed


def _first(payload: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = next(iter(payload["layout"].values()))
    return entry


CORRUPTIONS: dict[str, Callable[[Path], None]] = {
    "truncated": lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
    "not a torch file": lambda path: path.write_bytes(b"not a torch file"),
    "empty": lambda path: path.write_bytes(b""),
    "a weight one ulp off": lambda path: _edit(path, _flip_one_weight),
    "a convolution missing": lambda path: _edit(path, _drop_one_conv),
    "another format": lambda path: _edit(path, lambda p: p.update(format=ff_weights.CACHE_FORMAT + 1)),
    "another source": lambda path: _edit(path, lambda p: p.update(source_sha256="0" * 64)),
    "a geometry changed": lambda path: _edit(path, lambda p: _first(p).update(stride=7)),
    "an offset changed": lambda path: _edit(path, lambda p: _first(p).update(offset=1)),
    "an offset past the end": lambda path: _edit(path, lambda p: _first(p).update(offset=10**9)),
    "values cut short": lambda path: _edit(path, lambda p: p.update(values=p["values"][:-1].clone())),
    # the checksum recomputed over a layout that does not fit the values: refused all the same
    "an offset past the end, checksum redone": lambda path: _edit(
        path, _resum(lambda p: _first(p).update(offset=10**9))
    ),
    "a shape with no values, checksum redone": lambda path: _edit(
        path, _resum(lambda p: _first(p).update(shape=[0, 1, 1, 1]))
    ),
    "a foreign object": lambda path: path.write_bytes(_pickled_object()),
}


def _pickled_object() -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save({"format": ff_weights.CACHE_FORMAT, "evil": Path("/")}, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_corrupt_cache_file_is_rebuilt(cache: Path, onnx_reads: list[Path], corruption: str) -> None:
    name = ff_weights.TRANSFORM_FILE
    ff_weights.load_graph(name)
    target = cache_file(name)
    CORRUPTIONS[corruption](target)

    ff_weights.load_graph.cache_clear()
    rebuilt = ff_weights.load_graph(name)
    assert len(onnx_reads) == 2  # the damaged copy was not used: the ONNX file was read again
    assert_same(rebuilt, fresh(name))

    ff_weights.load_graph.cache_clear()
    assert_same(ff_weights.load_graph(name), rebuilt)
    assert len(onnx_reads) == 2  # and the rebuilt copy is good


def test_a_cache_that_cannot_be_written_still_paints(cache: Path, onnx_reads: list[Path]) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(b"a file where the cache directory should be")
    photo = np.random.default_rng(0).random((24, 32, 3), dtype=np.float32)
    ff_weights.load_graph.cache_clear()
    from brushwork.engines.feedforward import engine as ff_engine

    ff_engine.networks.cache_clear()
    try:
        result = brushwork.stylize(photo, DATA / "starry_night.jpg", method="fast", size=32)
    finally:
        ff_engine.networks.cache_clear()
    assert result.image.shape == (24, 32, 3) and np.isfinite(result.image).all()
    assert len(onnx_reads) == 2
    assert cache.read_bytes() == b"a file where the cache directory should be"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_cache_dir_is_left_alone(cache: Path, onnx_reads: list[Path]) -> None:
    cache.mkdir(parents=True)
    cache.chmod(0o500)
    try:
        graph = ff_weights.load_graph(ff_weights.TRANSFORM_FILE)
        assert list(cache.iterdir()) == []
    finally:
        cache.chmod(0o700)
    assert_same(graph, fresh(ff_weights.TRANSFORM_FILE))


def test_a_fresh_process_with_a_cache_paints_without_onnx(cache: Path, tmp_path: Path) -> None:
    """The point of the cache: a process that finds it never imports onnx (most of a second), and a
    plain fast run imports no OpenCV either."""
    for name in NAMES:
        ff_weights.load_graph(name)
    script = (
        "import sys, numpy as np, brushwork\n"
        "photo = np.full((40, 48, 3), 0.5, dtype=np.float32)\n"
        f"result = brushwork.stylize(photo, {str(DATA / 'starry_night.jpg')!r}, method='fast', size=48)\n"
        "assert result.image.shape == (40, 48, 3)\n"
        "print(sorted(m for m in ('onnx', 'cv2') if m in sys.modules))\n"
    )
    env = {**os.environ, ff_weights.CACHE_ENV: str(cache), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
