"""Live edits of bots.yaml: notice (file change or SIGHUP), wait until saved, validate, apply the difference.

- An invalid edit is reported with its locations and the running roster stays
  as it was; the same file is not reported twice.
- A file is read only once it is saved: the same size, time and contents at two
  looks `settle` seconds apart. An editor that writes in two steps, or saves by
  removing and re-creating the file, is waited for, never applied half-written.
- Reading and validating run in a thread, so a large roster does not stall the loop.
- A failed apply (e.g. the database briefly down) is logged with its kind; the
  running roster stays and the same file is tried again at the next look. Nothing
  that goes wrong in a look ends the watcher.
- `trigger()` (SIGHUP) may be called before `run()` starts: that look is not lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import NamedTuple

import structlog

from piyasa_bot.problems import Problem, RosterError
from piyasa_bot.roster_loader import LoadedRoster

log = structlog.get_logger(__name__)


class Version(NamedTuple):
    """What one look saw of the file."""

    mtime_ns: int
    size: int
    digest: str

    @property
    def stamp(self) -> tuple[int, int] | None:
        return None if self == MISSING else (self.mtime_ns, self.size)


MISSING = Version(0, -1, "")


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _version(path: Path) -> Version:
    try:
        stat = path.stat()
        data = path.read_bytes()
    except OSError:
        return MISSING
    return Version(stat.st_mtime_ns, stat.st_size, hashlib.sha256(data).hexdigest())


class RosterWatcher:
    def __init__(
        self,
        path: Path,
        load: Callable[[], LoadedRoster],
        apply: Callable[[LoadedRoster], Awaitable[None]],
        *,
        interval: float = 2.0,
        settle: float = 0.3,
        patience: float = 10.0,
    ) -> None:
        self.path = path
        self.load = load  # called in a thread
        self.apply = apply
        self.interval = interval  # between looks at the file's stamp
        self.settle = settle  # between the two reads that say a changed file is saved
        self.patience = patience  # how long one look waits for a changing or missing file
        self.applied = 0
        self.failed = 0  # looks that ended in an error other than an invalid roster
        self.problems: list[Problem] = []
        self.checked = asyncio.Event()  # set after every look that was triggered or handled a new version
        self.changing = asyncio.Event()  # set when a look finds the file changed and waits for it to settle
        self._triggered = asyncio.Event()
        self._handled = _version(path)  # the version applied or rejected last
        self._stamp = self._handled.stamp  # the stamp of the last look
        self._retry = False  # the last apply failed: try the same file again

    def trigger(self) -> None:
        """SIGHUP: look now (also before `run()` has started)."""
        self._triggered.set()

    async def run(self) -> None:
        while True:
            if not self._triggered.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._triggered.wait(), self.interval)
            forced = self._triggered.is_set()
            self._triggered.clear()
            try:
                handled = await self._look(forced)
            except Exception as error:  # noqa: BLE001  # whatever it was, the next look tries again
                self.failed += 1
                self._retry = handled = True
                log.error(
                    "roster.reload_failed",
                    path=str(self.path),
                    kind=type(error).__name__,
                    error=error,
                    note="the running roster is unchanged; trying the same file again at the next look",
                )
            if handled or forced:
                self.checked.set()

    async def _look(self, forced: bool) -> bool:
        """True when a new version (or the one to retry) was applied or rejected."""
        stamp = await asyncio.to_thread(_stamp, self.path)
        if stamp == self._stamp and not forced and not self._retry:
            return False
        while True:
            version = await self._saved()
            if version is None:
                return False
            self._stamp = version.stamp
            if version == self._handled and not self._retry:
                return False
            if await self._reload(version):
                return True
            # It changed while it was being read: wait for it to settle again.

    async def _saved(self) -> Version | None:
        """The file once two reads `settle` apart agree; None if it stays missing or changing."""
        version = await asyncio.to_thread(_version, self.path)
        if version == self._handled and not self._retry:
            return version
        self.changing.set()
        waited = 0.0
        while True:
            await asyncio.sleep(self.settle)
            waited += self.settle
            again = await asyncio.to_thread(_version, self.path)
            if again == version and version != MISSING:
                return version
            version = again
            if waited >= self.patience:
                self._stamp = version.stamp  # looked at again once it changes
                state = "missing" if version == MISSING else "still being written"
                log.warning(
                    "roster.not_saved",
                    path=str(self.path),
                    state=state,
                    waited=round(waited, 1),
                    note="the running roster is unchanged; looking again when the file changes",
                )
                return None

    async def _reload(self, version: Version) -> bool:
        """Load and apply; False (nothing done) when the file changed while it was read."""
        loaded: LoadedRoster | None = None
        rejected: RosterError | None = None
        try:
            loaded = await asyncio.to_thread(self.load)
        except RosterError as error:
            rejected = error
        if await asyncio.to_thread(_version, self.path) != version:
            return False
        if loaded is None:
            assert rejected is not None
            self._handled, self._retry, self.problems = version, False, rejected.problems
            log.error(
                "roster.reload_rejected",
                path=str(self.path),
                problems=[str(p) for p in rejected.problems],
                note="the running roster is unchanged",
            )
            return True
        self._retry = True  # until the apply has returned
        await self.apply(loaded)
        self._handled, self._retry, self.problems = version, False, []
        self.applied += 1
        for warning in loaded.warnings:
            log.warning("roster.warning", problem=str(warning))
        return True
