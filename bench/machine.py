"""Facts about the machine and the processes measured: CPU, memory, versions, RSS."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.paths import REPO_ROOT, use_test_support

use_test_support()
from support.processes import is_work_process, process_tree  # noqa: E402


def _meminfo_kib(field: str) -> int | None:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _git(*args: str) -> str:
    try:
        return subprocess.run(  # noqa: S603 (fixed arguments)
            ["git", *args],  # noqa: S607 (git from PATH, as every developer runs it)
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def facts(postgres_version: str) -> dict[str, Any]:
    total = _meminfo_kib("MemTotal") or 0
    versions = {}
    for package in ("slack-bolt", "flask", "gunicorn", "sqlalchemy", "psycopg", "httpx"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": len(os.sched_getaffinity(0)),
        "memory_gib": round(total / 1024 / 1024, 1),
        "cpu_model": cpu_model(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "postgresql": postgres_version,
        "packages": versions,
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "load_average_start": load_average(),
    }


def cpu_seconds(pid: int, *, work: bool = True) -> float:
    """User and system CPU time used so far by `pid` and its descendants; without the
    work processes (docs/adr/0013) if not `work`."""
    ticks = 0
    for member in process_tree(pid):
        if not work and is_work_process(member):
            continue
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited while we looked
        # After the command name: state is field 0, utime 11 and stime 12.
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def role(pid: int, master: int) -> str:
    """What a process in the gunicorn tree is."""
    if pid == master:
        return "master"
    if is_work_process(pid):
        return "work"
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "gone"
    return "resource tracker" if b"resource_tracker" in cmdline else "worker"


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _pss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def memory(pid: int) -> dict[str, Any]:
    """RSS of the process tree, per process and summed. RSS counts pages the workers
    share with the master once per process; PSS divides them, so its sum is the tree's
    real share of memory."""
    processes = []
    for member in process_tree(pid):
        try:
            processes.append(
                {
                    "pid": member,
                    "role": role(member, pid),
                    "rss_mib": round(_status_kib(member, "VmRSS") / 1024, 1),
                    "pss_mib": round(_pss_kib(member) / 1024, 1),
                }
            )
        except OSError:
            continue  # exited while we looked
    return {
        "processes": processes,
        "rss_sum_mib": round(sum(p["rss_mib"] for p in processes), 1),
        "pss_sum_mib": round(sum(p["pss_mib"] for p in processes), 1),
    }
