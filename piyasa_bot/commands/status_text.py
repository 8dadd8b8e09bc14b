"""`status` as text: the tables an operator reads in a terminal (status.py reads the snapshot, and gives JSON)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING

from piyasa_bot.logs import redact

if TYPE_CHECKING:
    from piyasa_bot.commands.status import Snapshot

LIVE_STATES = {"starting", "running", "retrying", "conflict"}
ERROR_WIDTH = 70


def clean(text: str | None) -> str | None:
    """A stored error or reason as shown: through the log redactor."""
    return redact(text) if text else text


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
                    _short(clean(b.last_error)) or "-",
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
            [[m.bot, str(m.chat_id), _ago(now, m.since), clean(m.reason) or "-"] for m in snapshot.inactive],
        )
    lines.append("")
    if snapshot.failures:
        lines.append("FAILURES IN THE LAST HOUR, BY REASON")
        lines += _table(
            ["count", "status", "bot", "chat", "last", "reason"],
            [
                [str(f.rows), f.status, f.bot, str(f.chat_id), _ago(now, f.last_at), clean(f.reason) or "-"]
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
                    (_short(clean(q.last_error)) or "-") if q.failures else "-",
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
