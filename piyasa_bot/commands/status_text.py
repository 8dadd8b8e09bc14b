"""`status` as text: the tables an operator reads in a terminal (status.py reads the snapshot, and gives JSON)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING

from piyasa_bot.db.status_queries import LIVE_WITHIN, LeaseState, LeaseStatus, rosters_of_live
from piyasa_bot.logs import redact

if TYPE_CHECKING:
    from piyasa_bot.commands.status import Snapshot

LIVE_STATES = {"starting", "running", "retrying", "conflict"}
ERROR_WIDTH = 70
NOBODY = "—"  # no runner holds this bot or chat now


def clean(text: str | None) -> str | None:
    """A stored error or reason as shown: through the log redactor."""
    return redact(text) if text else text


def snapshot_text(snapshot: Snapshot) -> list[str]:
    now = snapshot.now
    live = sum(runner.live for runner in snapshot.runners)
    running = f"{live} runner{'s' if live > 1 else ''} running" if live else "runner not running"
    lines = [f"piyasa_bot status at {now:%Y-%m-%d %H:%M:%S %Z}; counts over the last hour; {running}", ""]
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
            lines.append("note: no runner is live now; these states are the last ones written (did it crash?)")
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
    lines += _fleet_text(snapshot)
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


def _fleet_text(snapshot: Snapshot) -> list[str]:
    """The runners, and who holds each bot and chat (the fleet's leases)."""
    if not snapshot.runners and not any(lease.epoch is not None for lease in snapshot.leases):
        return ["", "FLEET: no runner has joined yet"]
    lines = ["", f"FLEET: RUNNERS (live = a heartbeat within {LIVE_WITHIN.total_seconds():g}s, not stopping)"]
    lines += _table(
        ["runner", "host", "pid", "started", "heartbeat", "live", "stopping", "bots", "chats", "bots.yaml"],
        [
            [
                r.id,
                r.host,
                str(r.pid),
                _ago(snapshot.now, r.started_at),
                _seconds_ago(r.heartbeat_age),
                "yes" if r.live else "NO",
                "yes" if r.stopping else "no",
                str(r.bots),
                str(r.chats),
                r.roster_label,
            ]
            for r in snapshot.runners
        ],
        numeric={2, 7, 8},
    )
    rosters = rosters_of_live(snapshot.runners)
    if len(rosters) > 1:
        groups = "; ".join(f"{roster}: {', '.join(ids)}" for roster, ids in rosters.items())
        lines += [
            "",
            f"WARNING: the live runners run different bots.yaml ({groups}); each group shares out only its own "
            "bots and chats; give every runner the same bots.yaml",
        ]
    if snapshot.leases:
        lines += ["", "FLEET: WHO HOLDS EACH BOT AND CHAT"]
        lines += _table(
            ["kind", "key", "holder", "epoch", "lease"],
            [
                [lease.kind, lease.key, lease.holder or NOBODY, _epoch(lease), _lease_text(lease)]
                for lease in snapshot.leases
            ],
            numeric={3},
        )
    return lines


def _epoch(lease: LeaseStatus) -> str:
    return "-" if lease.epoch is None else str(lease.epoch)


def _lease_text(lease: LeaseStatus) -> str:
    match lease.state:
        case LeaseState.UNCLAIMED:
            return "never claimed"
        case LeaseState.RELEASED:
            return "released"
        case LeaseState.EXPIRED:
            return f"expired {_seconds_ago(-(lease.expires_in or 0.0))}, was {lease.owner}"
        case LeaseState.HELD:
            text = f"expires in {lease.expires_in or 0.0:.0f}s"
            return text if lease.owner_live else f"{text}; its runner is not live"


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
    if seconds < 86400:
        return _seconds_ago(seconds)
    return f"{moment:%Y-%m-%d %H:%M}"


def _seconds_ago(age: float) -> str:
    seconds = max(int(age), 0)
    if seconds < 60:
        return f"{seconds}s ago"
    if seconds < 3600:
        return f"{seconds // 60}m ago"
    if seconds < 86400:
        return f"{seconds // 3600}h ago"
    return f"{seconds // 86400}d ago"
