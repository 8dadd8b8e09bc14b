"""Live edits of bots.yaml: notice (file change or SIGHUP), validate, apply the difference.

An invalid edit is reported with its locations and the running roster stays
as it was; the same file is not reported twice.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import structlog

from piyasa_bot.roster_loader import LoadedRoster, Problem, RosterError

log = structlog.get_logger(__name__)


class RosterWatcher:
    def __init__(
        self,
        path: Path,
        load: Callable[[], LoadedRoster],
        apply: Callable[[LoadedRoster], Awaitable[None]],
        *,
        interval: float = 2.0,
    ) -> None:
        self.path = path
        self.load = load
        self.apply = apply
        self.interval = interval
        self.applied = 0
        self.problems: list[Problem] = []
        self.checked = asyncio.Event()  # set after every look that found a new version
        self._triggered = asyncio.Event()
        self._stamp = self._file_stamp()
        self._digest = self._file_digest()

    def trigger(self) -> None:
        """SIGHUP: look now."""
        self._triggered.set()

    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._triggered.wait(), self.interval)
            except TimeoutError:
                pass
            forced = self._triggered.is_set()
            self._triggered.clear()
            stamp = self._file_stamp()
            if stamp == self._stamp and not forced:
                continue
            self._stamp = stamp
            digest = self._file_digest()
            if digest == self._digest:
                continue
            self._digest = digest
            await self._reload()
            self.checked.set()

    async def _reload(self) -> None:
        try:
            loaded = self.load()
        except RosterError as error:
            self.problems = error.problems
            log.error("roster.reload_rejected", path=str(self.path), problems=[str(p) for p in error.problems],
                      note="the running roster is unchanged")
            return
        self.problems = []
        await self.apply(loaded)
        self.applied += 1
        for warning in loaded.warnings:
            log.warning("roster.warning", problem=str(warning))

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _file_digest(self) -> str | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None
