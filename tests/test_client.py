"""The plug-ins' client without a server: the upload sizes it picks from the server's limits, and the
identical copies of it that each plug-in folder carries."""

from __future__ import annotations

from pathlib import Path

import pytest

from brushwork import client as bc

ROOT = Path(__file__).parent.parent
COPIES = [
    "integrations/krita/brushwork_krita/brushwork_client.py",
    "integrations/gimp/brushwork/brushwork_client.py",
    "integrations/comfyui/brushwork_client.py",
]
LIMITS = {"max_size": 1024, "max_pixels": 20_000_000, "max_upload_bytes": 25 * 2**20}


def test_uploads_are_no_larger_than_the_output_and_the_pixel_limit() -> None:
    assert bc.upload_size(4000, 3000, LIMITS) == (1024, 768)  # the server's largest output
    assert bc.upload_size(4000, 3000, LIMITS, 512) == (512, 384)
    assert bc.upload_size(4000, 3000, LIMITS, 4096) == (1024, 768)  # never above max_size
    assert bc.upload_size(300, 200, LIMITS, 512) == (300, 200)  # never enlarged
    w, h = bc.upload_size(1000, 1000, {**LIMITS, "max_pixels": 250_000})
    assert (w, h) == (500, 500)
    with pytest.raises(bc.BrushworkError, match="empty"):
        bc.upload_size(0, 10, LIMITS)


def test_an_upload_over_the_byte_limit_is_encoded_smaller() -> None:
    sizes: list[tuple[int, int]] = []

    def encode(w: int, h: int) -> bytes:
        sizes.append((w, h))
        return bytes(w * h)  # 1 byte a pixel

    data = bc.fit_upload(encode, 800, 600, {**LIMITS, "max_upload_bytes": 100_000})
    assert len(data) <= 100_000
    assert sizes[0] == (800, 600) and len(sizes) == 2
    assert abs(sizes[-1][0] / sizes[-1][1] - 4 / 3) < 0.01
    with pytest.raises(bc.BrushworkError, match="upload limit of 10 bytes"):
        bc.fit_upload(encode, 800, 600, {**LIMITS, "max_upload_bytes": 10})


def test_discover_prefers_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BRUSHWORK_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("BRUSHWORK_TOKEN", "from-the-env")
    monkeypatch.setenv("BRUSHWORK_DATA_DIR", str(tmp_path))
    found = bc.discover()
    assert (found.url, found.token) == ("http://127.0.0.1:9", "from-the-env")
    (tmp_path / "server.json").write_text("{not json")
    monkeypatch.delenv("BRUSHWORK_URL")
    with pytest.raises(bc.BrushworkError, match=r"cannot read .*server.json"):
        bc.discover()


@pytest.mark.parametrize("copy", COPIES)
def test_each_plugin_carries_a_real_identical_copy(copy: str) -> None:
    path = ROOT / copy
    assert not path.is_symlink(), f"{copy} must be a real file, so that the folder alone installs"
    assert path.read_bytes() == (ROOT / "src/brushwork/client.py").read_bytes(), (
        f"{copy} differs from src/brushwork/client.py: copy it again"
    )


def test_a_yes_or_no_is_sent_as_the_api_reads_it() -> None:
    body, _ = bc._multipart({"protect_faces": True, "invert_mask": False, "size": 64}, {})
    assert b"\r\n\r\ntrue\r\n" in body and b"\r\n\r\nfalse\r\n" in body and b"\r\n\r\n64\r\n" in body
    assert b"True" not in body and b"False" not in body  # the server refuses those (422)
