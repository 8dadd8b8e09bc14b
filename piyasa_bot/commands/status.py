"""`status`: what each bot and chat has been doing, read from the database alone.

It needs neither bots.yaml nor the secret key, and works the same while the
runner runs or not: the runner's single-instance lock tells which. Tokens are
never read; error texts pass through the log redactor before they are shown.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TextIO
from urllib.parse import urlsplit

import asyncpg

from piyasa_bot.bootstrap import database_dsn
from piyasa_bot.db import status_queries as queries
from piyasa_bot.db.status_queries import (
    BotStatus,
    ChatStatus,
    FailureGroup,
    InactiveMembership,
    QuoteSourceStatus,
    QuoteStatus,
)
from piyasa_bot.logs import redact
from piyasa_bot.settings import Settings

UNREACHABLE = 1
NO_RUNS = 3
WINDOW = timedelta(hours=1)
CONNECT_TIMEOUT = 10.0
NO_RUNS_MESSAGE = "no runs recorded yet — run `python -m piyasa_bot migrate` or `run`"
LIVE_STATES = {"starting", "running", "retrying", "conflict"}
ERROR_WIDTH = 70


@dataclass(frozen=True)
class Snapshot:
    now: datetime
    schema_version: int
    runner_running: bool
    bots: list[BotStatus]
    chats: list[ChatStatus]
    failures: list[FailureGroup]
    inactive: list[InactiveMembership]
    quotes: list[QuoteStatus]
    quote_sources: list[QuoteSourceStatus]


async def read_snapshot(conn: asyncpg.Connection, window: timedelta = WINDOW) -> Snapshot | None:
    """Everything `status` shows, from one consistent snapshot; None when there is no schema yet."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        version = await queries.schema_version(conn)
        if version is None:
            return None
        return Snapshot(
            now=await queries.database_now(conn),
            schema_version=version,
            runner_running=await queries.runner_holds_lock(conn),
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
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        return _problem(
            out, as_json, "unreachable", f"cannot reach the database: {_describe(error, password)}", UNREACHABLE
        )
    try:
        snapshot = await read_snapshot(conn)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        return _problem(
            out, as_json, "unreachable", f"the database failed to answer: {_describe(error, password)}", UNREACHABLE
        )
    finally:
        with contextlib.suppress(OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
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
                "last_error": _clean(b.last_error),
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
            {"bot": m.bot, "chat_id": m.chat_id, "reason": _clean(m.reason), "since": when(m.since)}
            for m in snapshot.inactive
        ],
        "failures": [
            {
                "bot": f.bot,
                "chat_id": f.chat_id,
                "status": f.status,
                "reason": _clean(f.reason),
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
                "last_error": _clean(q.last_error),
            }
            for q in snapshot.quote_sources
        ],
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


def _clean(text: str | None) -> str | None:
    return redact(text) if text else text


# --- text ----------------------------------------------------------------------------------


def snapshot_text(snapshot: Snapshot) -> list[str]:
    now = snapshot.now
    runner = "running (it holds the instance lock)" if snapshot.runner_running else "not running"
    lines = [f"piyasa_bot status at {now:%Y-%m-%d %H:%M:%S %Z}; counts over the last hour; runner {runner}", ""]
    if not snapshot.bots:
        lines.append("no bots recorded yet — start them with `python -m piyasa_bot run`")
    else:
        lines.append("BOTS")
        lines += _table(
            ["bot", "state", "last seen", "sent", "received", "pending", "failed", "expired", "last error"],
            [
                [
                    b.name,
                    b.state,
                    _ago(now, b.last_seen_at),
                    str(b.sent),
                    str(b.received),
                    str(b.pending),
                    str(b.failed),
                    str(b.expired),
                    _short(_clean(b.last_error)) or "-",
                ]
                for b in snapshot.bots
            ],
            numeric={3, 4, 5, 6, 7},
        )
        if not snapshot.runner_running and any(b.state in LIVE_STATES for b in snapshot.bots):
            lines.append("note: no runner holds the lock now; these states are the last it wrote (did it crash?)")
    if snapshot.chats:
        lines += ["", "CHATS"]
        lines += _table(
            ["chat", "title", "received", "sent", "pending", "failed", "expired", "last message", "bots in/out"],
            [
                [
                    str(c.id),
                    c.title,
                    str(c.received),
                    str(c.sent),
                    str(c.pending),
                    str(c.failed),
                    str(c.expired),
                    _ago(now, c.last_message_at),
                    f"{c.bots_active}/{c.bots_inactive}",
                ]
                for c in snapshot.chats
            ],
            numeric={2, 3, 4, 5, 6},
        )
    if snapshot.inactive:
        lines += ["", "REMOVED FROM CHATS"]
        lines += _table(
            ["bot", "chat", "since", "reason"],
            [[m.bot, str(m.chat_id), _ago(now, m.since), _clean(m.reason) or "-"] for m in snapshot.inactive],
        )
    lines.append("")
    if snapshot.failures:
        lines.append("FAILURES IN THE LAST HOUR, BY REASON")
        lines += _table(
            ["count", "status", "bot", "chat", "last", "reason"],
            [
                [str(f.rows), f.status, f.bot, str(f.chat_id), _ago(now, f.last_at), _clean(f.reason) or "-"]
                for f in snapshot.failures
            ],
            numeric={0},
        )
    else:
        lines.append("no failed or expired sends in the last hour")
    lines += _market_text(snapshot)
    return lines


def _market_text(snapshot: Snapshot) -> list[str]:
    """The live market's sources and quotes; nothing in simulated mode (no rows)."""
    now, lines = snapshot.now, []
    if snapshot.quote_sources:
        lines += ["", "QUOTE SOURCES"]
        lines += _table(
            ["source", "kind", "last good", "failures in a row", "last failure", "last error"],
            [
                [
                    q.name,
                    q.kind,
                    _ago(now, q.ok_at),
                    str(q.failures),
                    _ago(now, q.failed_at) if q.failures else "-",
                    (_short(_clean(q.last_error)) or "-") if q.failures else "-",
                ]
                for q in snapshot.quote_sources
            ],
            numeric={3},
        )
    if snapshot.quotes:
        lines += ["", "QUOTES (the last good value of each; a stale one is not quoted as now)"]
        lines += _table(
            ["symbol", "source", "price", "as of", "received"],
            [
                [q.symbol, q.source, f"{q.price:.6g}", _ago(now, q.as_of), _ago(now, q.received_at)]
                for q in snapshot.quotes
            ],
            numeric={2},
        )
    return lines


def _table(headers: list[str], rows: list[list[str]], numeric: Collection[int] = ()) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        padded = [
            cell.rjust(width) if i in numeric else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    return [line(headers), *(line(row) for row in rows)]


def _short(text: str | None) -> str | None:
    if text is None or len(text) <= ERROR_WIDTH:
        return text
    return text[: ERROR_WIDTH - 1] + "…"


def _ago(now: datetime, moment: datetime | None) -> str:
    if moment is None:
        return "never"
    seconds = max(int((now - moment).total_seconds()), 0)
    if seconds < 60:
        return f"{seconds}s ago"
    if seconds < 3600:
        return f"{seconds // 60}m ago"
    if seconds < 86400:
        return f"{seconds // 3600}h ago"
    return f"{moment:%Y-%m-%d %H:%M}"
