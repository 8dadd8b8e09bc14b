"""The roster watcher survives what a live edit meets: a failed apply, a half-saved file, an early SIGHUP."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from piyasa_bot.roster_loader import LoadedRoster, load_roster
from piyasa_bot.roster_watch import RosterWatcher
from tests.helpers import SUPERGROUP, roster_yaml
from tests.log_capture import capture_log_lines  # noqa: F401  # the log_lines fixture

NAMES = [f"bot{index:03d}" for index in range(8)]
ENV = {f"{name.upper()}_TOKEN": f"{7200000000 + index}:AAH-{name}_" + "x" * 30 for index, name in enumerate(NAMES)}


class Applied:
    """What the runner would be told, in order; `down` makes it fail as a lost database connection does."""

    def __init__(self) -> None:
        self.rosters: list[list[str]] = []
        self.down = False
        self.threads: set[str] = set()

    def load(self, path: Path) -> LoadedRoster:
        self.threads.add(threading.current_thread().name)
        return load_roster(path, ENV, None)

    async def __call__(self, loaded: LoadedRoster) -> None:
        if self.down:
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
        self.rosters.append([bot.name for bot in loaded.roster.bots])


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "bots.yaml"
    path.write_text(roster_yaml(NAMES[:6], SUPERGROUP))
    return path


@pytest.fixture
async def watch(config: Path) -> AsyncIterator[tuple[RosterWatcher, Applied]]:
    applied = Applied()
    watcher = RosterWatcher(config, lambda: applied.load(config), applied, interval=60, settle=0.05)
    yield watcher, applied  # each test starts and cancels `run()` itself


async def look(watcher: RosterWatcher) -> None:
    """As SIGHUP does; returns once that look is over."""
    watcher.checked.clear()
    watcher.trigger()
    await asyncio.wait_for(watcher.checked.wait(), 10)


async def test_a_failed_apply_keeps_the_watcher_and_the_same_file_is_tried_again(
    config: Path, log_lines: io.StringIO
) -> None:
    applied = Applied()
    # Looks every 50 ms, so that the retry comes by itself (no SIGHUP, no edit).
    watcher = RosterWatcher(config, lambda: applied.load(config), applied, interval=0.05, settle=0.05)
    watching = asyncio.create_task(watcher.run())
    applied.down = True
    config.write_text(roster_yaml(NAMES[:7], SUPERGROUP))
    await look(watcher)
    assert watcher.failed == 1 and applied.rosters == [] and not watching.done()
    assert '"event": "roster.reload_failed"' in log_lines.getvalue()
    assert '"kind": "ConnectionRefusedError"' in log_lines.getvalue()

    watcher.checked.clear()  # the next look tries the same file again
    await asyncio.wait_for(watcher.checked.wait(), 10)
    assert watcher.failed == 2 and applied.rosters == []

    applied.down = False
    watcher.checked.clear()
    await asyncio.wait_for(watcher.checked.wait(), 10)
    assert applied.rosters == [NAMES[:7]] and watcher.applied == 1

    config.write_text(roster_yaml(NAMES, SUPERGROUP))
    await look(watcher)
    assert applied.rosters == [NAMES[:7], NAMES]
    assert not watching.done()
    watching.cancel()


async def test_a_file_saved_in_two_writes_is_applied_once_whole(
    watch: tuple[RosterWatcher, Applied], config: Path
) -> None:
    watcher, applied = watch
    whole = roster_yaml(NAMES, SUPERGROUP)
    half = whole[: whole.index("  - name: bot002")]  # valid YAML by itself: six bots gone
    watching = asyncio.create_task(watcher.run())
    with config.open("w") as handle:
        handle.write(half)
        handle.flush()
        watcher.checked.clear()
        watcher.trigger()
        await asyncio.wait_for(watcher.changing.wait(), 10)  # the watcher has read the half
        handle.write(whole[len(half) :])
    await asyncio.wait_for(watcher.checked.wait(), 10)
    watching.cancel()
    assert applied.rosters == [NAMES]
    assert watcher.problems == []


async def test_a_file_briefly_missing_is_waited_for_not_reported(
    watch: tuple[RosterWatcher, Applied], config: Path
) -> None:
    watcher, applied = watch
    watching = asyncio.create_task(watcher.run())
    config.unlink()  # an editor that saves by removing and re-creating the file
    watcher.checked.clear()
    watcher.trigger()
    await asyncio.wait_for(watcher.changing.wait(), 10)
    config.write_text(roster_yaml(NAMES[:7], SUPERGROUP))
    await asyncio.wait_for(watcher.checked.wait(), 10)
    watching.cancel()
    assert applied.rosters == [NAMES[:7]] and watcher.problems == []


async def test_a_sighup_before_the_watcher_runs_is_not_lost(watch: tuple[RosterWatcher, Applied], config: Path) -> None:
    watcher, applied = watch
    config.write_text(roster_yaml(NAMES[:7], SUPERGROUP))
    watcher.trigger()  # e.g. during start-up, before run() is scheduled
    watching = asyncio.create_task(watcher.run())
    await asyncio.wait_for(watcher.checked.wait(), 10)
    watching.cancel()
    assert applied.rosters == [NAMES[:7]]


async def test_a_file_changed_while_it_is_read_is_read_again(config: Path) -> None:
    final = roster_yaml(NAMES[:3], SUPERGROUP)
    applied = Applied()
    edits = [final]

    def load() -> LoadedRoster:
        loaded = applied.load(config)
        if edits:
            config.write_text(edits.pop())  # the editor saves again while the watcher reads
        return loaded

    watcher = RosterWatcher(config, load, applied, interval=60, settle=0.05)
    config.write_text(roster_yaml(NAMES[:7], SUPERGROUP))
    watching = asyncio.create_task(watcher.run())
    await look(watcher)
    watching.cancel()
    assert applied.rosters == [NAMES[:3]]


async def test_the_roster_is_parsed_off_the_event_loop(watch: tuple[RosterWatcher, Applied], config: Path) -> None:
    watcher, applied = watch
    watching = asyncio.create_task(watcher.run())
    config.write_text("bots: [" + "x, " * 50_000 + "\n")  # large and invalid
    await look(watcher)
    watching.cancel()
    assert watcher.problems and applied.rosters == []
    assert threading.current_thread().name not in applied.threads and applied.threads
