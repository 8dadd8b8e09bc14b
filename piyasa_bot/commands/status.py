"""`status`: what each bot and chat has been doing, read from the database alone.

It needs neither bots.yaml nor the secret key, and works the same while the
runners run or not: the fleet's tables tell which runners are live (a fresh
heartbeat, not stopping) and which of them holds each bot and chat. Tokens are
never read; error texts pass through the log redactor before they are shown.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TextIO
from urllib.parse import urlsplit

import asyncpg

from piyasa_bot.bootstrap import database_dsn
from piyasa_bot.commands.status_text import clean, snapshot_text
from piyasa_bot.db import status_queries as queries
from piyasa_bot.db.retry import DATABASE_ERRORS
from piyasa_bot.db.status_queries import (
    BotStatus,
    ChatStatus,
    FailureGroup,
    InactiveMembership,
    LeaseStatus,
    QuoteSourceStatus,
    QuoteStatus,
    RunnerStatus,
)
from piyasa_bot.logs import redact
from piyasa_bot.settings import Settings

UNREACHABLE = 1
NO_RUNS = 3
WINDOW = timedelta(hours=1)
CONNECT_TIMEOUT = 10.0
NO_RUNS_MESSAGE = "no runs recorded yet — run `python -m piyasa_bot migrate` or `run`"


@dataclass(frozen=True)
class Snapshot:
    now: datetime
    schema_version: int
    runners: list[RunnerStatus]
    leases: list[LeaseStatus]
    bots: list[BotStatus]
    chats: list[ChatStatus]
    failures: list[FailureGroup]
    inactive: list[InactiveMembership]
    quotes: list[QuoteStatus]
    quote_sources: list[QuoteSourceStatus]

    @property
    def runner_running(self) -> bool:
        """At least one runner is live (the fleet runs)."""
        return any(runner.live for runner in self.runners)


async def read_snapshot(conn: asyncpg.Connection, window: timedelta = WINDOW) -> Snapshot | None:
    """Everything `status` shows, from one consistent snapshot; None when there is no schema yet."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        version = await queries.schema_version(conn)
        if version is None:
            return None
        return Snapshot(
            now=await queries.database_now(conn),
            schema_version=version,
            runners=await queries.runner_statuses(conn),
            leases=await queries.lease_statuses(conn),
            bots=await queries.bot_statuses(conn, window),
            chats=await queries.chat_statuses(conn, window),
            failures=await queries.failure_groups(conn, window),
            inactive=await queries.inactive_memberships(conn),
            quotes=await queries.quote_statuses(conn),
            quote_sources=await queries.quote_source_statuses(conn),
        )


async def status(settings: Settings, args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    as_json = bool(getattr(args, "json", False))
    if settings.database_url is None and not (settings.data_dir / "pg").exists():
        # No embedded PostgreSQL was ever created here: do not create one just to say so.
        return _problem(out, as_json, "no_runs", NO_RUNS_MESSAGE, NO_RUNS)
    try:
        dsn = database_dsn(settings)
    except Exception as error:  # noqa: BLE001 - pgserver failing to start: report it, no traceback
        return _problem(
            out,
            as_json,
            "unreachable",
            f"cannot start the embedded PostgreSQL under {settings.data_dir}: {_describe(error)}",
            UNREACHABLE,
        )
    password = urlsplit(dsn).password
    try:
        conn = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT)
    except DATABASE_ERRORS as error:
        return _problem(
            out, as_json, "unreachable", f"cannot reach the database: {_describe(error, password)}", UNREACHABLE
        )
    try:
        snapshot = await read_snapshot(conn)
    except DATABASE_ERRORS as error:
        return _problem(
            out, as_json, "unreachable", f"the database failed to answer: {_describe(error, password)}", UNREACHABLE
        )
    finally:
        with contextlib.suppress(*DATABASE_ERRORS):
            await conn.close(timeout=5)
    if snapshot is None:
        return _problem(out, as_json, "no_runs", NO_RUNS_MESSAGE, NO_RUNS)
    if as_json:
        print(json.dumps(snapshot_json(snapshot), ensure_ascii=False, indent=2), file=out)
    else:
        print("\n".join(snapshot_text(snapshot)), file=out)
    return 0


def _describe(error: BaseException, password: str | None = None) -> str:
    text = f"{type(error).__name__}: {error}"
    if password:
        text = text.replace(password, "<secret>")
    return redact(text)


def _problem(out: TextIO, as_json: bool, kind: str, message: str, code: int) -> int:
    if as_json:
        print(json.dumps({"error": kind, "message": message}, ensure_ascii=False), file=out)
    else:
        print(message, file=out)
    return code


# --- JSON ----------------------------------------------------------------------------------


def snapshot_json(snapshot: Snapshot) -> dict[str, Any]:
    def when(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "generated_at": when(snapshot.now),
        "window_seconds": int(WINDOW.total_seconds()),
        "schema_version": snapshot.schema_version,
        "runner_running": snapshot.runner_running,
        "bots": [
            {
                "name": b.name,
                "username": b.username,
                "telegram_id": b.telegram_id,
                "state": b.state,
                "last_error": clean(b.last_error),
                "state_changed_at": when(b.state_changed_at),
                "last_seen_at": when(b.last_seen_at),
                "sent": b.sent,
                "received": b.received,
                "outbox_pending": b.pending,
                "failed": b.failed,
                "expired": b.expired,
            }
            for b in snapshot.bots
        ],
        "chats": [
            {
                "id": c.id,
                "title": c.title,
                "type": c.type,
                "received": c.received,
                "sent": c.sent,
                "last_message_at": when(c.last_message_at),
                "outbox_pending": c.pending,
                "failed": c.failed,
                "expired": c.expired,
                "bots_active": c.bots_active,
                "bots_inactive": c.bots_inactive,
            }
            for c in snapshot.chats
        ],
        "removed_from_chats": [
            {"bot": m.bot, "chat_id": m.chat_id, "reason": clean(m.reason), "since": when(m.since)}
            for m in snapshot.inactive
        ],
        "failures": [
            {
                "bot": f.bot,
                "chat_id": f.chat_id,
                "status": f.status,
                "reason": clean(f.reason),
                "count": f.rows,
                "last_at": when(f.last_at),
            }
            for f in snapshot.failures
        ],
        "quote_sources": [
            {
                "name": q.name,
                "kind": q.kind,
                "ok_at": when(q.ok_at),
                "failed_at": when(q.failed_at),
                "failures_in_a_row": q.failures,
                "last_error": clean(q.last_error),
            }
            for q in snapshot.quote_sources
        ],
        "fleet": _fleet_json(snapshot),
        "quotes": [
            {
                "symbol": q.symbol,
                "source": q.source,
                "price": q.price,
                "as_of": when(q.as_of),
                "age_seconds": round((snapshot.now - q.as_of).total_seconds(), 1),
                "received_at": when(q.received_at),
            }
            for q in snapshot.quotes
        ],
    }


def _fleet_json(snapshot: Snapshot) -> dict[str, Any]:
    def when(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    def seconds(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {
        "live_within_seconds": int(queries.LIVE_WITHIN.total_seconds()),
        "runners": [
            {
                "id": r.id,
                "host": r.host,
                "pid": r.pid,
                "started_at": when(r.started_at),
                "heartbeat_at": when(r.heartbeat_at),
                "heartbeat_age_seconds": seconds(r.heartbeat_age),
                "live": r.live,
                "stopping": r.stopping,
                "bots": r.bots,
                "chats": r.chats,
                "roster": r.roster or None,  # None: the runner did not say which bots.yaml it runs
            }
            for r in snapshot.runners
        ],
        "rosters_agree": len(queries.rosters_of_live(snapshot.runners)) <= 1,
        "leases": [
            {
                "kind": lease.kind,
                "key": lease.key,
                "state": str(lease.state),
                "holder": lease.holder,  # None: nobody holds it now
                "owner": lease.owner,
                "owner_live": lease.owner_live,
                "epoch": lease.epoch,
                "acquired_at": when(lease.acquired_at),
                "expires_at": when(lease.expires_at),
                "expires_in_seconds": seconds(lease.expires_in),
            }
            for lease in snapshot.leases
        ],
    }
