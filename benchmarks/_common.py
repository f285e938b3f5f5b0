"""Shared helpers of the benchmark scripts: where results go, what machine ran them, timing."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Raw results (git-ignored); run_all.py points this elsewhere for a --quick run.
RESULTS = Path(os.environ.get("BRUSHWORK_BENCH_RESULTS", HERE / "results"))
IMAGES = Path(os.environ.get("BRUSHWORK_BENCH_IMAGES", "/work/shared/images"))
CONTENT = IMAGES / "content" / "tubingen.jpg"
STYLE = IMAGES / "style" / "starry_night.jpg"

# The reference machine (Sapphire Rapids, AVX-512 + AMX): VGG19 fwd+bwd at 512 x 512.
REFERENCE_FWD_BWD_512 = {"fp32": 1.5, "bf16": 0.33}


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags() -> list[str]:
    """The vector-extension flags that matter for bf16 (empty where /proc/cpuinfo is unreadable)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = line.split(":", 1)[1].split()
                    keep = ("avx", "amx", "bf16", "fma", "vnni")
                    return sorted(flag for flag in flags if any(key in flag for key in keep))
    except OSError:
        pass
    return []


def git(*args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=30)
    except OSError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def machine() -> dict[str, Any]:
    from brushwork.device import bf16_supported

    return {
        "commit": git("rev-parse", "--short", "HEAD") or "unknown",
        "src_modified": bool(git("status", "--porcelain", "--", "src")),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_flags": cpu_flags(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "bf16_native": bf16_supported(torch.device("cpu")),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def load() -> list[float]:
    """1, 5 and 15 minute load averages, rounded."""
    return [round(value, 2) for value in os.getloadavg()]


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def write_json(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def read_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table (also readable as plain text)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
