"""The web server under load: tests/e2e/test_server_load.py's report, with the machine that ran it.

    python benchmarks/bench_server.py        # writes results/server.json

The test starts `brushwork serve` on loopback, sends two waves of 20 clients at once (each a 48 px
photo painted as a 32 px draft with 1 step; 1 worker, 1 torch thread), follows every job to its
result (polling, or the event stream for every fourth client) and checks that nothing is lost and
memory does not grow from wave to wave. The test's own asserts decide pass or fail; this script keeps
its figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import ROOT, load, machine, table, write_json


def section(data: dict[str, Any]) -> str:
    """One row: requests, errors, jobs, latencies, wave times and the server's memory."""
    report = data["report"]
    latency, rss = report["latency_ms"], report["rss_mb"]
    row = [
        str(report["requests"]),
        str(report["errors"]),
        f"{report['jobs_done']} / {report['jobs_lost']}",
        f"{latency['median']:.0f} / {latency['p95']:.0f} / {latency['max']:.0f} ms",
        " then ".join(f"{s:.1f} s" for s in report["wave_seconds"]),
        f"{rss['idle']} idle, {rss['peak_in_wave_1']} peak in wave 1, {rss['after_wave_2']} after wave 2",
    ]
    header = ["requests", "errors", "jobs done / lost", "latency median / p95 / max", "waves",
              "server memory MB"]  # fmt: skip
    return f"{report['clients']} clients at once, {report['waves']} waves.\n\n" + table(header, [row])


def main() -> None:
    info, load_start = machine(), load()
    with tempfile.TemporaryDirectory(prefix="bench_server.") as folder:
        path = Path(folder) / "report.json"
        env = {**os.environ, "BRUSHWORK_LOAD_REPORT": str(path)}
        test = ROOT / "tests" / "e2e" / "test_server_load.py"
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                       env=env, cwd=ROOT, check=True)  # fmt: skip
        report = json.loads(path.read_text())
    data = {"machine": info, "load": [load_start, load()], "report": report}
    write_json("server", data)
    print(section(data))


if __name__ == "__main__":
    main()
