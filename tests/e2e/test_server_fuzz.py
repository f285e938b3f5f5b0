"""The HTTP API against a fuzzer: schemathesis (``st run``, configured by schemathesis.toml at the repo
root) drives a real ``brushwork serve`` on loopback from its OpenAPI schema, with every check: no 5xx,
every answer as the schema says (status, headers, body), schema-valid requests accepted and invalid
ones refused, 405 with Allow, and jobs followed from creation along the schema's links.

Two runs: a fixed seed, the same every time, and a random one, which tries new cases each CI run and
names its seed when it fails. The server is kept small (32 px, 2 steps at any scale, a short queue)
so that the jobs the fuzzer creates end in about a second.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from serverproc import StartServer

from ci import unavailable

ROOT = Path(__file__).resolve().parents[2]  # where schemathesis.toml is
ST = Path(sys.executable).with_name("st")
FIXED_SEED = 27
EXAMPLES = 60  # per operation and phase
RUN_SECONDS = 240  # about 40-60 s on two busy cores; far beyond that something hangs
SERVER = ("--max-size", "32", "--max-steps", "2", "--max-queued", "8")


def st_run(url: str, seed: int) -> subprocess.CompletedProcess[str]:
    command = [str(ST), "run", f"{url}/api/openapi.json", "--checks", "all", "--max-examples", str(EXAMPLES)]
    command += ["--seed", str(seed), "--request-timeout", "30", "--no-color"]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=RUN_SECONDS)


@pytest.mark.parametrize(
    "seed", [FIXED_SEED, random.SystemRandom().randrange(2**31)], ids=["fixed", "random"]
)
def test_the_api_holds_against_schemathesis(start_server: StartServer, tmp_path: Path, seed: int) -> None:
    if not ST.is_file():
        unavailable(f"needs schemathesis's st next to {sys.executable} (pip install -e '.[dev]')")
    server = start_server(tmp_path / "data", *SERVER)
    result = st_run(server.url, seed)
    report = result.stdout + result.stderr
    rerun = f"st run {server.url}/api/openapi.json -c all -n {EXAMPLES} --seed {seed}"
    assert result.returncode == 0, f"schemathesis failed with seed {seed} ({rerun}):\n{report[-12000:]}"
    assert f"Seed: {seed}" in report and "Stateful" in report, report[-3000:]  # it ran, every phase
    assert "No links point to" not in report, report[-6000:]  # every per-job operation is linked to
    covered = re.search(r"API Links: +(\d+) covered", report)
    assert covered is not None, report[-3000:]
    if seed == FIXED_SEED:  # its stateful phase creates jobs and follows them (random ones mostly do)
        assert int(covered.group(1)) > 0, report[-6000:]
    assert "Traceback" not in server.output(), server.output()[-6000:]
