"""The memory a process may use: the machine's, or less where a cgroup (v1 or v2) limits it.

Each test builds the files the kernel would show (``/proc/meminfo``, ``/proc/self/cgroup`` and a
cgroup filesystem) in a temporary folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from brushwork import sysmemory
from brushwork.engines.optimize import memory

GB = 2**30
MB = 2**20


class Machine:
    """A fake /proc and /sys/fs/cgroup under ``root``."""

    def __init__(self, root: Path, *, available: int = 16 * GB, total: int = 32 * GB) -> None:
        self.meminfo = root / "meminfo"
        self.meminfo.write_text(
            f"MemTotal:       {total // 1024} kB\nMemFree:        1024 kB\n"
            f"MemAvailable:   {available // 1024} kB\n"
        )
        self.cgroup_root = root / "cgroup"
        self.cgroup_root.mkdir()
        self.proc_cgroup = root / "self_cgroup"
        self.proc_cgroup.write_text("0::/\n")

    def v2(self, path: str = "", **files: str) -> Path:
        (self.cgroup_root / "cgroup.controllers").write_text("cpu memory pids\n")
        return self._write(self.cgroup_root / path, files)

    def v1(self, path: str = "", **files: str) -> Path:
        return self._write(self.cgroup_root / "memory" / path, files)

    @staticmethod
    def _write(folder: Path, files: dict[str, str]) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (folder / name.replace("_", ".", 1)).write_text(text)
        return folder

    def available(self) -> int:
        return sysmemory.available_memory(
            meminfo=self.meminfo, cgroup_root=self.cgroup_root, proc_cgroup=self.proc_cgroup
        )

    def total(self) -> int | None:
        return sysmemory.total_memory(
            meminfo=self.meminfo, cgroup_root=self.cgroup_root, proc_cgroup=self.proc_cgroup
        )


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


def test_without_cgroup_limits_meminfo_counts(machine: Machine) -> None:
    assert machine.available() == 16 * GB
    assert machine.total() == 32 * GB
    machine.v2(memory_max="max\n", memory_current=f"{5 * GB}\n")
    assert machine.available() == 16 * GB
    assert machine.total() == 32 * GB


def test_cgroup_v2_limit_minus_usage_and_inactive_page_cache(machine: Machine) -> None:
    machine.v2(
        memory_max=f"{4 * GB}\n",
        memory_current=f"{1 * GB}\n",
        memory_stat=f"anon {700 * MB}\nfile {324 * MB}\ninactive_file {256 * MB}\nactive_file 0\n",
    )
    assert machine.available() == 4 * GB - (1 * GB - 256 * MB)
    assert machine.total() == 4 * GB


def test_cgroup_v2_the_tightest_level_above_the_process_counts(machine: Machine) -> None:
    machine.proc_cgroup.write_text("0::/job/step\n")
    machine.v2(memory_max="max\n")
    machine.v2("job", memory_max=f"{3 * GB}\n", memory_current=f"{2 * GB}\n")
    machine.v2("job/step", memory_max="max\n", memory_current=f"{1 * GB}\n")
    assert machine.available() == 1 * GB
    assert machine.total() == 3 * GB


def test_cgroup_v1_limit_minus_usage(machine: Machine) -> None:
    machine.proc_cgroup.write_text("12:pids:/docker/abc\n4:cpu,cpuacct:/docker/abc\n3:memory:/docker/abc\n")
    machine.v1(memory_limit_in_bytes=f"{9223372036854771712}\n")  # the host's: no limit
    machine.v1(
        "docker/abc",
        memory_limit_in_bytes=f"{6 * GB}\n",
        memory_usage_in_bytes=f"{2 * GB}\n",
        memory_stat=f"cache {GB}\ninactive_file {GB}\ntotal_inactive_file {512 * MB}\n",
    )
    assert machine.available() == 6 * GB - (2 * GB - 512 * MB)
    assert machine.total() == 6 * GB


def test_cgroup_v1_inside_a_container_sees_its_own_cgroup_at_the_root(machine: Machine) -> None:
    machine.proc_cgroup.write_text("3:memory:/docker/abc\n")  # not mounted here: only the root is
    machine.v1(memory_limit_in_bytes=f"{2 * GB}\n", memory_usage_in_bytes=f"{GB // 2}\n")
    assert machine.available() == 2 * GB - GB // 2
    assert machine.total() == 2 * GB


def test_a_cgroup_roomier_than_the_machine_changes_nothing(machine: Machine) -> None:
    machine.v2(memory_max=f"{64 * GB}\n", memory_current=f"{GB}\n")
    assert machine.available() == 16 * GB
    assert machine.total() == 32 * GB


def test_a_full_cgroup_leaves_nothing(machine: Machine) -> None:
    machine.v2(memory_max=f"{GB}\n", memory_current=f"{GB + MB}\n")
    assert machine.available() == 0


def test_the_budgets_without_max_memory_follow_the_cgroup(
    machine: Machine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The optimizer's default budgets take three quarters of what is available: in a container with a
    4 GB limit on a roomy host, that is 3 GB, not the comfortable 6 GB the host's memory would allow."""
    machine.v2(memory_max=f"{4 * GB}\n", memory_current="0\n")
    monkeypatch.setattr(sysmemory, "MEMINFO", machine.meminfo)
    monkeypatch.setattr(sysmemory, "CGROUP_ROOT", machine.cgroup_root)
    monkeypatch.setattr(sysmemory, "PROC_CGROUP", machine.proc_cgroup)
    assert memory.available_memory() == 4 * GB
    assert memory.default_budgets() == [3 * GB]
