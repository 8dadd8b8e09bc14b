"""The machine a run was measured on."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path
from typing import Any

import psutil

from benchmarks.lib.processes import MIB


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return ""


def machine_info(packages: tuple[str, ...] = ("aiogram", "aiohttp", "asyncpg", "pydantic")) -> dict[str, Any]:
    from importlib.metadata import version

    versions = {}
    for package in packages:
        with contextlib.suppress(Exception):
            versions[package] = version(package)
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "memory_mib": round(psutil.virtual_memory().total / MIB),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        **versions,
    }


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far; differences give the busy share."""
    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    return sum(t) - idle, sum(t)
