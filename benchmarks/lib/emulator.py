"""The Bot API emulator as a child process (`python -m piyasa_bot.sandbox`) and its control API.

Readiness comes from the emulator's own polling stats (/control/wait_polled:
how many bots have called getUpdates), not from anyone's log lines, so the
same check holds for every runner under test.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.lib.processes import Processes, tail


async def start_emulator(
    procs: Processes, workdir: Path, env: dict[str, str] | None = None, seed: int = 0, longest_poll: float | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the emulator on a free port; (process, base URL) once it printed its URL.

    `longest_poll`: a long poll waits at most that many seconds, whatever timeout it asks for.
    """
    log = workdir / "emulator.log"
    cmd = [sys.executable, "-m", "piyasa_bot.sandbox", "--host", "127.0.0.1", "--port", "0", "--seed", str(seed)]
    if longest_poll is not None:
        cmd += ["--longest-poll", str(longest_poll)]
    proc = procs.start("emulator", cmd, env={**os.environ, **(env or {})}, cwd=workdir, log=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"emulator exited with {proc.returncode}:\n{tail(log)}")
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("http://127.0.0.1:"):
                return proc, line.strip()
        await asyncio.sleep(0.05)
    raise RuntimeError(f"emulator printed no URL within 30 s:\n{tail(log)}")


class Control:
    """A client of the emulator's control API (/control/...)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = aiohttp.ClientSession(
            base_url=base, connector=aiohttp.TCPConnector(limit=32), timeout=aiohttp.ClientTimeout(total=120)
        )

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.http.request(method, path, json=body) as resp:
            data = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"{method} {path}: {resp.status} {data}")
            return data

    async def stats(self) -> dict[str, Any]:
        return await self.call("GET", "/control/stats")

    async def wait_confirmed(self, timeout: float) -> bool:
        """Every bot confirmed every update within `timeout`?"""
        return bool((await self.call("POST", "/control/wait_confirmed", {"timeout": timeout}))["confirmed"])

    async def wait_bots_polling(
        self, count: int, timeout: float, alive: Callable[[], bool] = lambda: True, step: float = 1.0
    ) -> int:
        """Wait until `count` bots have called getUpdates; checks `alive()` every `step` s.

        Returns the count reached; raises RuntimeError when `alive()` turns false
        or TimeoutError (with the count so far) after `timeout`.
        """
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            answer = await self.call(
                "POST", "/control/wait_polled", {"count": count, "timeout": max(0.0, min(step, left))}
            )
            if answer["ready"]:
                return int(answer["polled"])
            if not alive():
                raise RuntimeError(f"the runner under test exited; {answer['polled']}/{count} bots had polled")
            if time.monotonic() >= deadline:
                raise TimeoutError(f"only {answer['polled']}/{count} bots polling after {timeout:.0f} s")

    async def supergroup_roster(
        self, names: list[str], chat_id: int, title: str, *, privacy: bool, username_suffix: str, config: Path
    ) -> dict[str, str]:
        """Add `names` as bots of one supergroup, write a bots.yaml for them to `config`.

        Returns the runner's environment for them: PIYASA_CONFIG and each bot's token variable.
        """
        import yaml

        tokens = {}
        for name in names:
            body = {"name": name, "username": f"{name}_{username_suffix}", "privacy": privacy}
            tokens[name] = (await self.call("POST", "/control/bots", body))["token"]
        await self.call(
            "POST", "/control/chats", {"id": chat_id, "title": title, "type": "supergroup", "members": names}
        )
        bots = [{"name": n, "token": "${" + f"{n.upper()}_TOKEN" + "}", "chats": [chat_id]} for n in names]
        roster = {"chats": [{"id": chat_id, "title": title}], "bots": bots}
        config.write_text(yaml.safe_dump(roster, sort_keys=False), encoding="utf-8")
        return {"PIYASA_CONFIG": str(config), **{f"{n.upper()}_TOKEN": token for n, token in tokens.items()}}

    async def close(self) -> None:
        await self.http.close()
