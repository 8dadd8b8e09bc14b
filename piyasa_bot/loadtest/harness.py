"""Runs one load test: PostgreSQL, the emulator and its crowd, the runner, the drills.

The emulator and the crowd live in a child process; the runner runs in this
one, so this process's CPU and memory are the runner's (the harness itself
only sleeps and asks for figures every few seconds).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any, TextIO

import asyncpg
import psutil
import structlog

from piyasa_bot.crypto import TokenCipher, generate_key
from piyasa_bot.db.embedded import EmbeddedPostgres
from piyasa_bot.db.pool import fresh_database
from piyasa_bot.loadtest.emulator_process import EmulatorProcess
from piyasa_bot.loadtest.measure import AnswerRow, RunFacts
from piyasa_bot.loadtest.options import LoadtestOptions
from piyasa_bot.loadtest.roster import bot_names, loadtest_roster
from piyasa_bot.runner import Runner
from piyasa_bot.runner_group import RunnerGroup

log = structlog.get_logger(__name__)

DATABASE = "piyasa_loadtest"
PROGRESS_EVERY = 5.0


class PeakMemory:
    """Samples this process's RSS; the peak is what the report gives."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._sample())

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, self.process.memory_info().rss)
            await asyncio.sleep(0.5)

    def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
        return max(self.peak, self.process.memory_info().rss) / 2**20


async def run_loadtest(
    server_dsn: str, options: LoadtestOptions, out: TextIO, embedded: EmbeddedPostgres | None = None
) -> RunFacts:
    if options.db_outage and embedded is None:
        raise ValueError("--db-outage stops the embedded PostgreSQL; unset DATABASE_URL to use it")
    dsn = await fresh_database(server_dsn, DATABASE)
    emulator = EmulatorProcess(options.seed)
    base_url = await emulator.start()
    try:
        return await _run(dsn, emulator, base_url, options, out, embedded)
    finally:
        await emulator.stop()


async def _run(
    dsn: str,
    emulator: EmulatorProcess,
    base_url: str,
    options: LoadtestOptions,
    out: TextIO,
    embedded: EmbeddedPostgres | None,
) -> RunFacts:
    tokens = {}
    for index, name in enumerate(bot_names(options.bots)):
        bot = await emulator.call(
            "POST", "/control/bots", name=name, username=f"{name}_bot", privacy=options.privacy_of(index)
        )
        tokens[name] = bot["token"]
    await emulator.call(
        "POST", "/control/chats", id=options.chat_id, title="Yük Testi", type="supergroup", members=list(tokens)
    )
    loaded = loadtest_roster(tokens, options.chat_id)
    limits = loaded.roster.limits
    await emulator.call(
        "POST",
        "/control/limits",
        global_per_second=limits.global_per_second,
        per_bot_chat_per_minute=limits.per_chat_per_minute,
    )
    cipher = TokenCipher.from_setting(generate_key())
    assert cipher is not None
    print(
        f"load test: {options.bots} bots, {options.users} people, {options.duration:.0f} s"
        f"{f', {options.runners} runners' if options.runners > 1 else ''} (emulator at {base_url})",
        file=out,
        flush=True,
    )

    memory = PeakMemory()
    memory.start()

    def runner(index: int) -> Runner:
        seed = options.seed + index  # each runner's own rng, as separate processes would have
        return Runner(loaded, dsn=dsn, api_base=base_url, cipher=cipher, poll_timeout=10, seed=seed)

    async with RunnerGroup(runner, options.runners) as fleet:
        await fleet.first.wait_polling(timeout=120)
        await emulator.call(
            "POST",
            "/control/faults",
            rate_429=options.fault_429,
            rate_5xx=options.fault_5xx,
            slow_ms=options.slow_api_ms,
        )
        cpu_before = sum(psutil.Process().cpu_times()[:2])
        started = time.time()
        normal, mention, reply = options.crowd
        market = fleet.director_of(options.chat_id).services.market
        await emulator.call(
            "POST",
            "/control/crowd",
            chat_id=options.chat_id,
            normal=normal,
            mention=mention,
            reply=reply,
            duration=options.duration,
            rate_multiplier=options.rate_multiplier,
            seed=options.seed,
            # The bots' simulated market: the emulator's people quote the same figures.
            market_state=market.simulated_state(datetime.now(UTC)) if market is not None else None,
        )
        drill = asyncio.create_task(_db_outage(embedded, options)) if options.db_outage else None
        crowd = await _follow(emulator, fleet, options, out)
        outage = await drill if drill is not None else None
        # Everything people posted reaches the table, every answer decided goes out.
        await emulator.call("POST", "/control/wait_confirmed", timeout=120)
        await fleet.drain(timeout=240)
        cpu_seconds = sum(psutil.Process().cpu_times()[:2]) - cpu_before
        outbox_counts = fleet.outbox_counts()
        write_backlog, updates_failed = fleet.max_write_backlog, fleet.updates_failed
    peak_rss = memory.stop()
    stats = await emulator.call("GET", "/control/stats")
    sent = await emulator.all_of("/control/sent")
    posted = await emulator.all_of("/control/posted")
    conn = await asyncpg.connect(dsn)
    try:
        stored, records = await _stored(conn, options.chat_id)
        answer_rows = await _answer_rows(conn, options.chat_id)
    finally:
        await conn.close()
    return RunFacts(
        duration=float(crowd["elapsed"] or options.duration),
        posted=posted,
        crowd_posts=crowd["result"]["posts"],
        sent=sent,
        stored=stored,
        emulator=stats,
        outbox=outbox_counts,
        max_write_backlog=write_backlog,
        updates_failed=updates_failed,
        db_records=records,
        cpu_seconds=cpu_seconds,
        peak_rss_mib=peak_rss,
        started_at=started,
        outage=outage,
        answer_rows=answer_rows,
    )


async def _follow(
    emulator: EmulatorProcess, fleet: RunnerGroup, options: LoadtestOptions, out: TextIO
) -> dict[str, Any]:
    """Print progress until the crowd is done; return its final state."""
    while True:
        status = await emulator.call("GET", "/control/crowd", wait=PROGRESS_EVERY)
        elapsed = status["elapsed"] or 0.0
        print(
            f"[{elapsed:5.0f}/{options.duration:.0f} s] people posted {status['posted']:,}, "
            f"stored {fleet.stored:,}, bots sent {fleet.sent:,}, "
            f"queue {fleet.backlog}, addressed {fleet.answer_counts.addressed:,}",
            file=out,
            flush=True,
        )
        if not status["running"]:
            return status


async def _db_outage(embedded: EmbeddedPostgres | None, options: LoadtestOptions) -> tuple[float, float]:
    """PostgreSQL stopped a third of the way in, started again `db_outage` s later: (down, back), epoch seconds.

    Down is when the stop began (connections end at once in its fast mode), back when the server accepts
    connections again: its own stop and start add to the seconds asked, more so on a busy machine.
    """
    assert embedded is not None
    await asyncio.sleep(options.duration / 3)
    log.warning("loadtest.db_outage_start", seconds=options.db_outage)
    down = time.time()
    await asyncio.to_thread(embedded.stop)
    await asyncio.sleep(options.db_outage)
    await asyncio.to_thread(embedded.start)
    back = time.time()
    log.warning("loadtest.db_outage_end", seconds=round(back - down, 2))
    return down, back


async def _stored(conn: asyncpg.Connection, chat_id: int) -> tuple[dict[int, tuple[int, float]], dict[str, int]]:
    rows = await conn.fetch(
        """SELECT telegram_message_id, count(*) AS copies, extract(epoch FROM min(created_at)) AS created
           FROM messages WHERE is_incoming AND chat_id = $1 GROUP BY telegram_message_id""",
        chat_id,
    )
    records = {
        "messages": await conn.fetchval("SELECT count(*) FROM messages"),
        "outbox": await conn.fetchval("SELECT count(*) FROM outbox"),
    }
    return {row["telegram_message_id"]: (row["copies"], float(row["created"])) for row in rows}, records


async def _answer_rows(conn: asyncpg.Connection, chat_id: int) -> dict[tuple[str, int], AnswerRow]:
    """The sent answers' outbox rows: when each was queued, due and begun (where the slowest one waited)."""
    rows = await conn.fetch(
        """SELECT b.name, o.answers_message_id, extract(epoch FROM o.created_at)::float8 AS created,
                  extract(epoch FROM o.not_before)::float8 AS due,
                  extract(epoch FROM o.send_started_at)::float8 AS started
           FROM outbox o JOIN bots b ON b.id = o.bot_id
           WHERE o.chat_id = $1 AND o.answers_message_id IS NOT NULL AND o.status = 'sent'""",
        chat_id,
    )
    return {
        (row["name"], row["answers_message_id"]): AnswerRow(row["created"], row["due"], row["started"]) for row in rows
    }
