"""`run` and `migrate`: the long-running job and its schema step.

Signals are taken before anything starts: SIGINT or SIGTERM stops (during
start-up too), a second one ends the process at once (offsets are confirmed
only for stored rows, so nothing confirmed is lost), and a SIGHUP that comes
while the runner is still starting is kept for the roster watcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from typing import TYPE_CHECKING

import asyncpg
import structlog

from piyasa_bot.bootstrap import Prepared, database_dsn, environment
from piyasa_bot.console.options import console_options
from piyasa_bot.console.refused import ConsoleRefused
from piyasa_bot.db.migrate import apply_migrations
from piyasa_bot.roster_loader import load_roster
from piyasa_bot.roster_watch import RosterWatcher
from piyasa_bot.settings import Settings

if TYPE_CHECKING:
    from piyasa_bot.runner import Runner

log = structlog.get_logger(__name__)

# The runner's stop is bounded step by step (services.CLOSE_TIMEOUTS); should it still
# overrun, the process ends anyway, so that a stop never needs a SIGKILL.
STOP_DEADLINE = 9.5


def stop_on_signals(stop: asyncio.Event, deadline: float | None = None) -> None:
    """SIGINT/SIGTERM set `stop`; a second one, or `deadline` seconds without an exit, ends the process."""
    loop = asyncio.get_running_loop()

    def stopping(signum: int) -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            log.warning("runner.stopped_at_once", signal=name, note="a second signal: not waiting for a clean stop")
            _exit_now(128 + signum)
        log.info("runner.stopping", signal=name)
        stop.set()
        if deadline is not None:
            loop.call_later(deadline, _overran, deadline)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping, signum)


def _overran(deadline: float) -> None:
    log.error("runner.stop_overran", seconds=deadline, note="ending the process without a clean stop")
    _exit_now(1)


def _exit_now(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


async def run(settings: Settings, prepared: Prepared) -> int:
    # Here, not at the top: the runner brings aiogram and the whole service graph (~3 s), which
    # `migrate` (and `simulate`'s signal helper) never needs.
    from piyasa_bot.runner import Runner

    try:
        console = console_options(settings)
    except ConsoleRefused as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    stop_on_signals(stop, deadline=STOP_DEADLINE)
    runner = Runner(
        prepared.loaded,
        dsn=database_dsn(settings),
        api_base=settings.telegram_api,
        cipher=prepared.cipher,
        llm=prepared.llm,
        metrics_port=settings.metrics_port,
        metrics_host=settings.metrics_host,
        console=console,
        fleet_host=settings.fleet_host,
    )
    # Built before the runner starts: it knows the file as it was loaded, and a SIGHUP
    # during start-up waits in it until it runs.
    watcher = RosterWatcher(
        settings.config, lambda: load_roster(settings.config, environment(), prepared.cipher), runner.apply
    )
    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, watcher.trigger)
    try:
        if not await _started(runner, stop):
            return 0
    except ConsoleRefused as error:  # beyond 127.0.0.1 without an operator account
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        watching = asyncio.create_task(watcher.run(), name="roster-watch")
        await stop.wait()
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
    finally:
        await runner.stop()
    return 0


async def _started(runner: Runner, stop: asyncio.Event) -> bool:
    """Start the runner, unless a stop signal comes first (then it is stopped again: False)."""
    starting = asyncio.create_task(runner.__aenter__(), name="runner-start")
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait([starting, stopped], return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if starting.done():
        starting.result()  # a failed start raises here, already cleaned up
        return True
    starting.cancel()  # __aenter__ stops what was started
    await asyncio.gather(starting, return_exceptions=True)
    return False


async def migrate(settings: Settings) -> int:
    conn = await asyncpg.connect(database_dsn(settings))
    try:
        applied = await apply_migrations(conn)
    finally:
        await conn.close()
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "nothing, the schema is current"
    print(f"applied: {names}")
    return 0
