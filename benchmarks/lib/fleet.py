"""A fleet of `python -m piyasa_bot run` processes for a benchmark, each on a "machine" of its own.

Every runner gets its own PIYASA_FLEET_HOST, so only the heartbeat tells a
death (as between machines). Who polls what comes from the emulator (each
request names its runner), who holds what from the `leases` table.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.lib.emulator import Control
from benchmarks.lib.processes import Processes, tail


@dataclass(frozen=True)
class FleetRunner:
    proc: subprocess.Popen[bytes]
    id: str  # runners.id, as its requests name it
    host: str
    log: Path


async def joined(log: Path, proc: subprocess.Popen[bytes], timeout: float) -> str:
    """The runner id from its `fleet.joined` log line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"runner exited with {proc.returncode} before joining:\n{tail(log)}")
        for line in log.read_text(errors="replace").splitlines():
            if '"fleet.joined"' in line:
                return str(json.loads(line)["runner"])
        await asyncio.sleep(0.05)
    raise RuntimeError(f"runner did not join within {timeout:g} s:\n{tail(log)}")


async def polls(control: Control, since: float) -> list[dict[str, Any]]:
    """getUpdates that came in since `since` (time.time()), oldest first: bot, runner, arrived_at, at, status."""
    return list((await control.call("GET", f"/control/polls?since={since!r}"))["polls"])


class Fleet:
    def __init__(
        self, procs: Processes, workdir: Path, env: dict[str, str], control: Control, dsn: str, chat_id: int
    ) -> None:
        self.procs, self.workdir, self.env, self.control, self.dsn = procs, workdir, env, control, dsn
        self.chat_id = chat_id
        self.live: list[FleetRunner] = []
        self._started = 0

    async def start(self) -> FleetRunner:
        index = self._started
        self._started += 1
        host, log = f"bench-{index}", self.workdir / f"runner-{index:02d}.log"
        proc = self.procs.start(
            f"runner-{index}", [sys.executable, "-m", "piyasa_bot", "run"],
            env={**self.env, "PIYASA_FLEET_HOST": host}, cwd=self.workdir, log=log,
        )  # fmt: skip
        member = FleetRunner(proc, await joined(log, proc, 60), host, log)
        self.live.append(member)
        return member

    def kill(self, member: FleetRunner) -> float:
        """SIGKILL (its whole process group); the time.time() of the kill."""
        killed_at = time.time()
        os.killpg(member.proc.pid, signal.SIGKILL)
        member.proc.wait(5)
        self.procs.stop(member.proc)  # forgets it (it has ended)
        self.live.remove(member)
        return killed_at

    def stop(self, member: FleetRunner) -> dict[str, Any]:
        self.live.remove(member)
        return self.procs.stop(member.proc)

    def stop_all(self) -> None:
        for member in list(self.live):
            self.stop(member)

    async def leases(self) -> dict[tuple[str, str], str]:
        """(kind, key) -> owner of every lease held now."""
        conn = await asyncpg.connect(self.dsn)
        try:
            rows = await conn.fetch(
                "SELECT kind, key, owner FROM leases WHERE owner IS NOT NULL AND expires_at > now()"
            )
        finally:
            await conn.close()
        return {(r["kind"], r["key"]): r["owner"] for r in rows}

    async def settled(self, bots: list[str], timeout: float = 60.0) -> dict[str, str]:
        """Wait until every lease is where the fleet's assignment puts it among the live runners and each bot's
        latest poll came from its owner; bot -> owner."""
        # The snapshot's code (benchmarks run a copy of piyasa_bot/): imported once it is on the path.
        from piyasa_bot.fleet.assignment import LeaseKey, assign

        ids = [member.id for member in self.live]
        keys = [LeaseKey("bot", bot) for bot in bots] + [LeaseKey("chat", str(self.chat_id))]
        wanted = {(key.kind, key.key): owner for key, owner in assign(keys, ids).items()}
        owners = {key: owner for (kind, key), owner in wanted.items() if kind == "bot"}
        since, deadline = time.time(), time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(member.proc.poll() is not None for member in self.live):
                raise RuntimeError("a runner of the fleet exited")
            latest = {p["bot"]: p["runner"] for p in await polls(self.control, since - 30)}
            if await self.leases() == wanted and all(latest.get(b) == o for b, o in owners.items()):
                return owners
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the fleet did not settle within {timeout:g} s: leases {await self.leases()}")
