"""Fixtures shared by the test modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

DATA_DIR = Path(__file__).parent / "data"


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> Iterator[None]:
    """One torch thread: tests start server processes beside this one, and on a 2-core machine
    spinning OpenMP threads from two processes slow tiny runs down several times over."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True, scope="session")
def private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cache directory of the session's own (the fast engine caches its weights there), so that no
    test reads or writes the real ``~/.cache``; the processes tests start inherit it."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BRUSHWORK_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """tests/data: small (128 px long side) content photos and style paintings."""
    return DATA_DIR


@pytest.fixture(scope="session")
def content_image(data_dir: Path) -> Path:
    """A landscape content photo, 128x96."""
    return data_dir / "tubingen.jpg"


@pytest.fixture(scope="session")
def style_image(data_dir: Path) -> Path:
    """A style painting, 128x80."""
    return data_dir / "starry_night.jpg"


@pytest.fixture(scope="session")
def second_style_image(data_dir: Path) -> Path:
    """A second, portrait style painting, 101x128."""
    return data_dir / "the_scream.jpg"
