"""The plug-ins' client (``brushwork.client``, standard library only) against real ``brushwork serve``
processes, and the ``server.json`` through which it finds them."""

from __future__ import annotations

import io
import json
import signal
import stat
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from serverproc import StartServer, small_jpeg

import comfyui_pack
from brushwork import client as bc

TOKEN = "s3cret-token-for-tests"


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "PNG"
        return im.size


def test_server_json_names_the_real_port_and_token_and_goes_at_stop(
    start_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir, "--token", TOKEN)
    path = data_dir / "server.json"
    found = json.loads(path.read_text())
    assert found["url"] == server.url  # the port the server announced, not 0; no trailing slash
    assert not found["url"].endswith("/") and not found["url"].endswith(":0")
    assert found["token"] == TOKEN
    assert found["pid"] == server.pid
    assert found["version"] == bc.Client(server.url, TOKEN).info()["version"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    # The client finds the server through the file, with the token.
    for name in ("BRUSHWORK_URL", "BRUSHWORK_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BRUSHWORK_DATA_DIR", str(data_dir))
    found_client = bc.discover()
    assert (found_client.url, found_client.token) == (server.url, TOKEN)
    assert found_client.info()["token_required"] is True

    # Without the token: refused, in one line that says what to do.
    with pytest.raises(bc.BrushworkError) as refused:
        bc.Client(server.url).info()
    assert "HTTP 401" in str(refused.value) and "BRUSHWORK_TOKEN" in str(refused.value)
    assert "\n" not in str(refused.value)
    with pytest.raises(bc.BrushworkError, match="token is wrong"):
        bc.Client(server.url, "wrong-token-123").styles()

    # The ComfyUI node, through this server when BRUSHWORK_URL is set.
    monkeypatch.setenv("BRUSHWORK_URL", server.url)
    monkeypatch.setenv("BRUSHWORK_TOKEN", TOKEN)
    node = comfyui_pack.load().NODE_CLASS_MAPPINGS["BrushworkStylize"]()
    photo = torch.from_numpy(np.asarray(Image.open(io.BytesIO(small_jpeg(long_side=64))), np.float32) / 255)
    (painted,) = node.stylize(photo[None], photo[None].flip(2), method="fast", strength=1.0, size=64)
    assert painted.shape == (1, 48, 64, 3) and float((painted[0] - photo).abs().mean()) > 0.05
    jobs = found_client._json("GET", "/api/jobs")["jobs"]
    assert [(job["state"], job["settings"]["method"]) for job in jobs] == [("done", "fast")]

    assert server.terminate() == -signal.SIGTERM  # uvicorn stops gracefully, then re-raises it
    assert not path.exists()
    monkeypatch.delenv("BRUSHWORK_URL")
    with pytest.raises(bc.BrushworkError, match=r"server.json is missing.*brushwork serve"):
        bc.discover()
    with pytest.raises(bc.BrushworkError, match=r"cannot reach the brushwork server at .*brushwork serve"):
        found_client.info()


def test_paint_follow_cancel_and_errors(start_server: StartServer, tmp_path: Path) -> None:
    start_server(tmp_path / "data", "--preview-every", "1")
    found = json.loads((tmp_path / "data" / "server.json").read_text())
    assert found["token"] is None  # no token is invented
    client = bc.Client(found["url"] + "/")  # a trailing slash is forgiven
    limits = client.info()["limits"]
    assert limits["max_size"] == 1024

    # A fast job, followed over the event stream, fetched as PNG.
    seen: list[str] = []
    painting = client.stylize(
        small_jpeg(long_side=96),
        style_id="starry_night",
        method="fast",
        size=80,
        progress=lambda job: seen.append(job["state"]),
    )
    assert png_size(painting) == (80, 60)
    assert seen[-1] == "done"

    # An uploaded style, and an optimizer job that is cancelled once it runs.
    job = client.submit(
        small_jpeg(long_side=64), style=small_jpeg("starry_night.jpg"), method="optimize", size=64, steps=400
    )
    states: list[str] = []
    with pytest.raises(bc.Cancelled):
        client.follow(job["id"], lambda j: states.append(j["state"]), cancelled=lambda: "running" in states)
    assert client.job(job["id"])["state"] == "cancelled"
    assert client.cancel(job["id"])["state"] == "cancelled"  # again: no error, it has ended
    with pytest.raises(bc.BrushworkError, match=r"the job is cancelled, there is no result \(HTTP 409\)"):
        client.result(job["id"])

    # The server's refusals are one line each.
    with pytest.raises(bc.BrushworkError, match=r"method.*\(HTTP 422\)$"):
        client.submit(small_jpeg(), style_id="starry_night", method="sideways")
    with pytest.raises(bc.BrushworkError, match=r"\(HTTP 400\)$"):
        client.submit(b"not an image", style_id="starry_night")
    with pytest.raises(bc.BrushworkError, match="not both or neither"):
        client.submit(small_jpeg())
