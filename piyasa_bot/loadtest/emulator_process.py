"""The emulator and its crowd in a process of their own, so the runner's CPU is the runner's."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import aiohttp


class EmulatorProcess:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.base_url = ""
        self._process: asyncio.subprocess.Process | None = None
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> str:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "piyasa_bot.sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--seed",
            str(self.seed),
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), 60)
        if not line.startswith(b"http"):
            raise RuntimeError("the emulator did not start")
        self.base_url = line.decode().strip()
        self._http = aiohttp.ClientSession(base_url=self.base_url, timeout=aiohttp.ClientTimeout(total=120))
        return self.base_url

    async def call(self, method: str, path: str, **body: Any) -> Any:
        assert self._http is not None
        if method == "GET":
            response = await self._http.get(path, params={k: str(v) for k, v in body.items()})
        else:
            response = await self._http.post(path, json=body)
        async with response:
            payload = await response.json()
            if response.status >= 400:
                raise RuntimeError(f"emulator {path}: {payload}")
            return payload

    async def all_of(self, path: str, key: str = "messages") -> list[dict[str, Any]]:
        """Every item of a paged listing (/control/sent, /control/posted)."""
        items: list[dict[str, Any]] = []
        while True:
            page = await self.call("GET", path, since=len(items))
            if not page[key]:
                return items
            items += page[key]

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), 10)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
