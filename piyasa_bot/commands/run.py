"""`run` and `migrate`: the long-running job and its schema step."""

from __future__ import annotations

import asyncio
import signal

import asyncpg
import structlog

from piyasa_bot.bootstrap import Prepared, database_dsn, environment
from piyasa_bot.roster_loader import load_roster
from piyasa_bot.roster_watch import RosterWatcher
from piyasa_bot.db.migrate import apply_migrations
from piyasa_bot.runner import Runner
from piyasa_bot.settings import Settings

log = structlog.get_logger(__name__)


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)


async def run(settings: Settings, prepared: Prepared) -> int:
    stop = asyncio.Event()
    stop_on_signals(stop)
    runner = Runner(prepared.loaded, dsn=database_dsn(settings), api_base=settings.telegram_api,
                    cipher=prepared.cipher, llm=prepared.llm,
                    metrics_port=settings.metrics_port, metrics_host=settings.metrics_host)
    async with runner:
        watcher = RosterWatcher(settings.config, lambda: load_roster(settings.config, environment(), prepared.cipher),
                                runner.apply)
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, watcher.trigger)
        watching = asyncio.create_task(watcher.run())
        await stop.wait()
        log.info("runner.stopping")
        watching.cancel()
    return 0


async def migrate(settings: Settings) -> int:
    conn = await asyncpg.connect(database_dsn(settings))
    try:
        applied = await apply_migrations(conn)
    finally:
        await conn.close()
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "nothing, the schema is current"
    print(f"applied: {names}")
    return 0
