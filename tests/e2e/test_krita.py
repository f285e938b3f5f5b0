"""The Krita plug-in in the real Krita (kritarunner, offscreen): a photo is painted through a live
``brushwork serve`` with a token, in 8 and 16 bits and masked to a selection, and the new layers sit
above it, at the canvas's size though the server takes fewer pixels."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from PIL import Image
from serverproc import StartServer
from test_client_live import TOKEN

from brushwork import client as bc
from ci import unavailable

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
DATA = HERE.parent / "data"


def test_a_photo_is_painted_on_a_new_layer_through_the_plugin(
    start_server: StartServer, tmp_path: Path
) -> None:
    kritarunner = shutil.which("kritarunner", path="/usr/bin")
    if kritarunner is None:
        unavailable("needs Krita: apt-get install --no-install-recommends krita python3-pyqt5")
    # A pixel limit below the photo's (128 x 96): the plug-in must send it smaller, and scale back. (The
    # server applies it to its own gallery paintings too, so the test uploads its style.)
    server = start_server(tmp_path / "data", "--token", TOKEN, "--max-pixels", "6000")
    report, export = tmp_path / "report.json", tmp_path / "krita.png"
    env = {
        "PATH": "/usr/bin:/bin",  # Krita's own Python, not a virtual environment's
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "home" / "config"),
        "XDG_DATA_HOME": str(tmp_path / "home" / "data"),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": f"{ROOT / 'integrations' / 'krita'}:{HERE}",
        "OMP_NUM_THREADS": "1",
    }
    args = [
        str(DATA / "tubingen.jpg"),
        str(DATA / "the_scream.jpg"),
        str(report),
        server.url,
        TOKEN,
        str(export),
    ]
    run = subprocess.run(
        [kritarunner, "-s", "krita_script", "-f", "main", *args], env=env, capture_output=True, timeout=300
    )
    assert report.exists(), f"Krita wrote no report (exit {run.returncode}):\n{run.stderr.decode()[-3000:]}"
    results = json.loads(report.read_text())
    assert "error" not in results, results["error"]

    with Image.open(DATA / "tubingen.jpg") as photo:
        size = list(photo.size)
    for depth, bytes_per_sample in (("u8", 1), ("u16", 2)):
        found = results[depth]
        assert found["size"] == size
        assert found["bytes"] == size[0] * size[1] * 4 * bytes_per_sample
        assert (found["type"], found["name"]) == ("paintlayer", "Background (brushwork)")
        # The new layer is right above the photo's, opaque, and differs from it.
        siblings = found["siblings"]
        assert siblings.index(found["painted"]) == siblings.index(found["node"]) + 1
        assert found["alphas"] == [255]
        assert found["mean_difference"] > 10, found
    assert results["u16"]["depth"] == "U16"
    assert "HTTP 401" in results["without_token"]
    # "Paint selection only" (the left half): a transparency mask, or in Krita 5.1 the layer's alpha.
    if results["masked_children"] != ["transparencymask"]:
        assert results["masked_children"] == [] and results["alpha_row"] == [255, 0], results

    jobs = bc.Client(server.url, TOKEN)._json("GET", "/api/jobs")["jobs"]
    assert sorted((job["state"], job["settings"]["method"]) for job in jobs) == [
        ("done", "fast"),
        ("done", "fast"),
        ("done", "optimize"),
    ]
    with Image.open(export) as exported:
        assert list(exported.size) == size
