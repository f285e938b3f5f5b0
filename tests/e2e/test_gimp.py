"""The GIMP 3 plug-in in the real GIMP 3 (gimp-console, no display), in the Debian 13 chroot that
.ci/gimp-chroot prepares once: a photo is painted through a live ``brushwork serve`` with a token,
called through the PDB with only the style and method given, and the new layer sits above it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image, ImageChops, ImageStat
from serverproc import StartServer
from test_client_live import TOKEN

from brushwork import client as bc
from ci import unavailable

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
DATA = HERE.parent / "data"
CHROOT = Path(os.environ.get("BRUSHWORK_GIMP_ROOT", "/var/cache/brushwork-gimp"))


def test_a_photo_is_painted_on_a_new_layer_through_the_pdb(start_server: StartServer, tmp_path: Path) -> None:
    if not (CHROOT / ".brushwork-ready").exists():
        unavailable(f"needs GIMP 3 in a Debian 13 chroot at {CHROOT}: run .ci/gimp-chroot (as root)")
    if os.geteuid() != 0:
        unavailable("entering the GIMP 3 chroot needs root")
    assert os.access(ROOT / "integrations/gimp/brushwork/brushwork.py", os.X_OK), (
        "the plug-in must be executable"
    )
    server = start_server(tmp_path / "data", "--token", TOKEN)
    work = Path(tempfile.mkdtemp(prefix="brushwork-test-", dir=CHROOT / "tmp"))
    try:
        inside = Path("/") / work.relative_to(CHROOT)
        shutil.copytree(
            ROOT / "integrations/gimp/brushwork", work / "home/.config/GIMP/3.0/plug-ins/brushwork"
        )
        (work / "out").mkdir()
        for name in ("tubingen.jpg", "the_scream.jpg"):
            shutil.copy(DATA / name, work / name)
        shutil.copy(HERE / "gimp_script.py", work / "gimp_script.py")
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(inside / "home"),
            "BW_PHOTO": str(inside / "tubingen.jpg"),
            "BW_STYLE": str(inside / "the_scream.jpg"),
            "BW_OUT": str(inside / "out"),
            "BRUSHWORK_URL": server.url,  # the chroot shares the host's loopback
            "BRUSHWORK_TOKEN": TOKEN,
        }
        command = ["chroot", str(CHROOT), "env", "-i", *(f"{k}={v}" for k, v in env.items())]
        command += ["gimp-console-3.0", "-i", "--batch-interpreter", "python-fu-eval"]
        command += ["-b", f"exec(open('{inside / 'gimp_script.py'}').read())", "--quit"]
        run = subprocess.run(command, capture_output=True, timeout=300)
        report_path = work / "out" / "report.json"
        assert report_path.exists(), (
            f"GIMP wrote no report (exit {run.returncode}):\n{run.stderr.decode()[-3000:]}"
        )
        report = json.loads(report_path.read_text())
        assert "exception" not in report, report["exception"]
        assert report["menu"] == ["<Image>/Filters/Artistic"]
        assert "SUCCESS" in report["status"], report
        assert report["layers"] == ["Background (brushwork)", "Background"]  # top first
        with Image.open(work / "out/layer0.png") as top, Image.open(work / "out/layer1.png") as photo:
            assert top.size == photo.size == tuple(report["size"]) == (128, 96)
            if top.mode == "RGBA":
                assert top.getchannel("A").getextrema() == (255, 255)
            difference = ImageStat.Stat(ImageChops.difference(top.convert("RGB"), photo.convert("RGB"))).mean
            assert sum(difference) / 3 > 10, difference
    finally:
        shutil.rmtree(work, ignore_errors=True)

    jobs = bc.Client(server.url, TOKEN)._json("GET", "/api/jobs")["jobs"]
    assert [(j["state"], j["settings"]["method"], j["settings"]["strength"]) for j in jobs] == [
        ("done", "fast", 0.5)
    ]
    assert jobs[0]["settings"]["size"] == 512  # the default when a script leaves size out
