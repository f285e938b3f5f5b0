"""How much memory this process may use: the machine's, or less where a cgroup limits it.

In a container (Docker, Kubernetes, a systemd slice) ``/proc/meminfo`` describes the whole host, while
the kernel kills the process once its cgroup's usage reaches the cgroup's limit. So both are read and
the smaller one counts: cgroup v2 (``memory.max`` and ``memory.current``) and v1
(``memory.limit_in_bytes`` and ``memory.usage_in_bytes``), at the process's own cgroup and every
cgroup above it that is visible. A cgroup's usage includes page cache the kernel can drop; the
inactive part of it (``inactive_file`` in ``memory.stat``) is counted as free, as ``docker stats``
does.

The paths are arguments so that tests can point them at files of their own.
"""

from __future__ import annotations

import os
from pathlib import Path

MEMINFO = Path("/proc/meminfo")
CGROUP_ROOT = Path("/sys/fs/cgroup")  # where cgroupfs is mounted (v1: a folder per controller below it)
PROC_CGROUP = Path("/proc/self/cgroup")
NO_LIMIT = 2**60  # v1 writes "no limit" as a number near 2**63; v2 writes "max"
UNKNOWN_AVAILABLE = 8 * 2**30  # what available_memory() says when nothing can be read


def available_memory(
    *, meminfo: Path | None = None, cgroup_root: Path | None = None, proc_cgroup: Path | None = None
) -> int:
    """Memory the system can give this process now, in bytes: MemAvailable, or a cgroup's limit minus
    its usage where that is less. The paths default to :data:`MEMINFO`, :data:`CGROUP_ROOT` and
    :data:`PROC_CGROUP`."""
    machine = _meminfo_field(meminfo or MEMINFO, "MemAvailable") or _sysconf_bytes("SC_AVPHYS_PAGES")
    levels = _cgroup_levels(cgroup_root or CGROUP_ROOT, proc_cgroup or PROC_CGROUP)
    known = [size for size in (machine, *(limit - used for limit, used in levels)) if size is not None]
    return max(0, min(known)) if known else UNKNOWN_AVAILABLE


def total_memory(
    *, meminfo: Path | None = None, cgroup_root: Path | None = None, proc_cgroup: Path | None = None
) -> int | None:
    """Memory this process may use in all, in bytes: the machine's (MemTotal), or a cgroup's limit where
    that is less. None when unknown."""
    machine = _meminfo_field(meminfo or MEMINFO, "MemTotal") or _sysconf_bytes("SC_PHYS_PAGES")
    levels = _cgroup_levels(cgroup_root or CGROUP_ROOT, proc_cgroup or PROC_CGROUP)
    known = [size for size in (machine, *(limit for limit, _ in levels)) if size]
    return min(known) if known else None


def _meminfo_field(path: Path, name: str) -> int | None:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(f"{name}:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _sysconf_bytes(pages: str) -> int | None:
    try:
        return int(os.sysconf(pages) * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup_levels(cgroup_root: Path, proc_cgroup: Path) -> list[tuple[int, int]]:
    """(limit, usage) of each cgroup that limits this process's memory, from its own to the top."""
    if (cgroup_root / "cgroup.controllers").exists():  # v2: one unified hierarchy
        folders = _own_and_above(cgroup_root, _cgroup_path(proc_cgroup, controller=None))
        names = ("memory.max", "memory.current", "inactive_file")
    else:  # v1: the memory controller's own hierarchy
        root = cgroup_root / "memory"
        folders = _own_and_above(root, _cgroup_path(proc_cgroup, controller="memory"))
        names = ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")
    levels = []
    for folder in folders:
        limit = _read_number(folder / names[0])
        if limit is None or limit >= NO_LIMIT:
            continue
        usage = _read_number(folder / names[1]) or 0
        inactive = _stat_field(folder / "memory.stat", names[2]) or 0
        levels.append((limit, max(0, usage - inactive)))
    return levels


def _cgroup_path(proc_cgroup: Path, controller: str | None) -> str:
    """The process's cgroup in the hierarchy of ``controller`` (None: v2's unified one), or "/"."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return "/"
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if (controller is None and parts[0] == "0" and controllers == "") or (
            controller is not None and controller in controllers.split(",")
        ):
            return path or "/"
    return "/"


def _own_and_above(root: Path, path: str) -> list[Path]:
    """The folder of cgroup ``path`` under ``root`` and each one above it, those that exist. Inside a
    container with its own cgroup namespace the path is "/" and ``root`` is the container's cgroup;
    without one, the host's path may not be mounted there, and ``root`` is what can be seen."""
    parts = [part for part in path.strip("/").split("/") if part and part != ".."]
    folders = [root.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]
    return [folder for folder in folders if folder.is_dir()]


def _read_number(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # v2's "max": no limit


def _stat_field(path: Path, name: str) -> int | None:
    try:
        for line in path.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == name and value.strip().isdigit():
                return int(value)
    except OSError:
        pass
    return None
