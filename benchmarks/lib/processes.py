"""Child processes, and the CPU time and memory of a process tree."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil

MIB = 1024 * 1024


class Processes:
    """Everything a benchmark starts; stopped in reverse order, whatever happens."""

    def __init__(self) -> None:
        self._running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, cmd: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
        with open(log, "wb") as out:
            # Own session: a Ctrl-C at the terminal reaches the benchmark only, which
            # then stops the children in order (runner before emulator before database).
            proc = subprocess.Popen(
                cmd,
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._running.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> dict[str, Any]:
        """SIGTERM, wait up to `timeout`, then SIGKILL. Returns how it ended."""
        self._running = [(n, p) for n, p in self._running if p is not proc]
        if proc.poll() is not None:
            return {"exit": proc.returncode, "killed": False, "stop_s": 0.0}
        started = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
            killed = False
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
            killed = True
        return {"exit": proc.returncode, "killed": killed, "stop_s": round(time.monotonic() - started, 2)}

    def stop_all(self) -> None:
        for _, proc in reversed(list(self._running)):
            self.stop(proc, timeout=10.0)


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log, for an error message."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_seconds(pid: int | None) -> float | None:
    """user+sys of a process and its live children (and of its reaped children)."""
    if pid is None:
        return None
    total = 0.0
    for proc in tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


def own_cpu_seconds() -> float:
    """This process alone (its children are the processes under test)."""
    t = psutil.Process().cpu_times()
    return t.user + t.system


async def wait_quiet(pid: int, deadline: float, threshold: float = 0.10, interval: float = 0.5) -> bool:
    """Wait until the process uses less than `threshold` of a core over `interval` s."""
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(interval)
        now = cpu_seconds(pid)
        if last is None or now is None:
            return False
        if (now - last) / interval < threshold:
            return True
        last = now
    return False


def rss_bytes(pid: int) -> int:
    """Resident memory of a process tree."""
    total = 0
    for proc in tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += proc.memory_info().rss
    return total


def vm_hwm(pid: int) -> int | None:
    """Peak resident set of the process over its whole life (kernel's VmHWM), bytes."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


class RssSampler:
    """Samples a process tree's RSS every `every` s; keeps the peak per phase (set `phase` to switch)."""

    def __init__(self, pid: int | None = None, every: float = 0.25) -> None:
        self.pid = os.getpid() if pid is None else pid
        self.every = every
        self.peaks: dict[str, int] = {}
        self.phase = "window"
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def sample(self) -> int:
        rss = rss_bytes(self.pid)
        self.samples += 1
        self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), rss)
        return rss

    @property
    def peak(self) -> int:
        """The highest sample of any phase."""
        return max(self.peaks.values(), default=0)

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.every)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
