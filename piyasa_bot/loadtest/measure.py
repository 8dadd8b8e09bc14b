"""From what happened (posts, rows, sends, counters) to the figures of the report. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from piyasa_bot.conversation import Composer
from piyasa_bot.loadtest.percentiles import Latency, percentile

__all__ = ["Latency", "Results", "RunFacts", "measure", "percentile"]


@dataclass(frozen=True)
class RunFacts:
    """Raw material gathered by the harness."""

    duration: float
    posted: list[dict[str, Any]]  # emulator: message_id, available_at, recipients
    crowd_posts: list[dict[str, Any]]  # crowd: kind, message_id, addressed, available_at
    sent: list[dict[str, Any]]  # emulator: bot_name, chat_id, message_id, reply_to_message_id, text, at
    stored: dict[int, tuple[int, float]]  # message_id -> (rows, created_at epoch)
    emulator: dict[str, Any]  # /control/stats
    outbox: dict[str, int]  # sent, failed, expired, rate_limited, retried, max_queue
    max_write_backlog: int
    updates_failed: int
    db_records: dict[str, int]
    cpu_seconds: float
    peak_rss_mib: float
    started_at: float
    # --db-outage: when PostgreSQL went down and when it accepted connections again (epoch seconds).
    # Its stop and start take their own time, so the outage is measured, not taken as asked.
    outage: tuple[float, float] | None = None
    # The outbox's answer rows: (bot, the person's message id) -> when it was queued, due, and begun.
    answer_rows: dict[tuple[str, int], AnswerRow] = field(default_factory=dict)


@dataclass(frozen=True)
class AnswerRow:
    """An answer's outbox row, as epoch seconds."""

    created_at: float  # queued: the director decided to answer
    not_before: float  # due: its deliberate delay over
    send_started_at: float | None  # its send began (limits had room)


@dataclass(frozen=True)
class SlowestAnswer:
    """Where the answer slowest beyond its typing delay spent its time (seconds)."""

    bot: str
    beyond_typing: float
    queued_after: float  # the person's message available -> the row queued
    deliberate_delay: float  # queued -> due
    waited: float | None  # due -> its send began (a limit, the chat's queue)
    on_the_wire: float | None  # its send began -> Telegram had it
    # Its bot's messages in the chat in the minute before its send began: at Telegram's 20 a minute,
    # the wait was that window's.
    bot_sent_in_minute_before: int | None


@dataclass(frozen=True)
class OutageFigures:
    """What a PostgreSQL outage held up, against the outage as it really was."""

    seconds: float  # from down to back, as measured
    held: int  # people's messages made available before it was back and stored after it began
    stored_after_back_ms: float  # the last of those, from the database being back to its row committed


@dataclass
class Results:
    human_messages: int
    delivered: int
    stored: int
    lost: int
    duplicates: int
    double_answers: int
    ingest: Latency
    addressed: int
    answered: int
    reply: Latency
    reply_without_typing: Latency
    bot_messages_sent: int
    sends_failed: int
    sends_rate_limited: int
    sends_expired: int
    throughput: float
    error_rate: float
    max_queue: int
    violations: dict[str, int]
    cpu_seconds: float
    cpu_share: float
    peak_rss_mib: float
    db_records: dict[str, int]
    duration: float
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (seconds into run, ingest ms)
    # With an outage: `ingest` leaves out the messages the outage held, which `outage` accounts for.
    outage: OutageFigures | None = None
    ingest_all: Latency | None = None  # every message, those held by the outage included
    slowest_answer: SlowestAnswer | None = None


def measure(facts: RunFacts) -> Results:
    delivered = [post for post in facts.posted if post["recipients"] > 0]
    ingest_ms: list[float] = []
    held_ms: list[float] = []  # by the outage: from the database back to the row committed
    all_ms: list[float] = []
    timeline, lost, duplicates = [], 0, 0
    for post in delivered:
        found = facts.stored.get(post["message_id"])
        if found is None:
            lost += 1
            continue
        rows, created_at = found
        duplicates += rows - 1
        latency = max(0.0, (created_at - post["available_at"]) * 1000)
        all_ms.append(latency)
        timeline.append((post["available_at"] - facts.started_at, latency))
        if facts.outage is not None and post["available_at"] < facts.outage[1] and created_at > facts.outage[0]:
            held_ms.append(max(0.0, (created_at - facts.outage[1]) * 1000))
        else:
            ingest_ms.append(latency)
    outage = None
    if facts.outage is not None:
        down, back = facts.outage
        outage = OutageFigures(back - down, len(held_ms), max(held_ms, default=0.0))

    answers: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for message in facts.sent:
        if message.get("reply_to_message_id") is not None:
            answers.setdefault((message["bot_name"], message["reply_to_message_id"]), []).append(message)
    addressed = [post for post in facts.crowd_posts if post.get("addressed")]
    reply_ms, bare_ms, answered, double = [], [], 0, 0
    slowest: tuple[float, dict[str, Any], dict[str, Any]] | None = None  # (beyond typing ms, post, reply)
    for post in addressed:
        replies = answers.get((post["addressed"], post["message_id"]))
        if not replies:
            continue
        answered += 1
        double += len(replies) - 1
        first = min(replies, key=lambda message: message["at"])
        elapsed = (first["at"] - post["available_at"]) * 1000
        reply_ms.append(elapsed)
        bare_ms.append(max(0.0, elapsed - Composer.typing_delay(first["text"]) * 1000))
        if slowest is None or bare_ms[-1] > slowest[0]:
            slowest = (bare_ms[-1], post, first)

    stored = len(all_ms)
    failures = facts.outbox.get("failed", 0) + facts.updates_failed + lost
    attempts = len(delivered) + facts.outbox.get("sent", 0) + facts.outbox.get("failed", 0)
    return Results(
        human_messages=len(facts.posted),
        delivered=len(delivered),
        stored=stored,
        lost=lost,
        duplicates=duplicates,
        double_answers=double,
        ingest=Latency.of(ingest_ms),
        addressed=len(addressed),
        answered=answered,
        reply=Latency.of(reply_ms),
        reply_without_typing=Latency.of(bare_ms),
        slowest_answer=_slowest_answer(slowest, facts.answer_rows, facts.sent),
        bot_messages_sent=len(facts.sent),
        sends_failed=facts.outbox.get("failed", 0),
        sends_rate_limited=facts.outbox.get("rate_limited", 0),
        sends_expired=facts.outbox.get("expired", 0),
        throughput=(stored + len(facts.sent)) / facts.duration if facts.duration else 0.0,
        error_rate=failures / attempts if attempts else 0.0,
        max_queue=max(facts.outbox.get("max_queue", 0), facts.max_write_backlog),
        violations=dict(facts.emulator.get("violations", {})),
        cpu_seconds=facts.cpu_seconds,
        cpu_share=facts.cpu_seconds / facts.duration if facts.duration else 0.0,
        peak_rss_mib=facts.peak_rss_mib,
        db_records=facts.db_records,
        duration=facts.duration,
        timeline=sorted(timeline),
        outage=outage,
        ingest_all=Latency.of(all_ms) if outage is not None else None,
    )


def _slowest_answer(
    slowest: tuple[float, dict[str, Any], dict[str, Any]] | None,
    rows: dict[tuple[str, int], AnswerRow],
    sent: list[dict[str, Any]],
) -> SlowestAnswer | None:
    if slowest is None:
        return None
    beyond_ms, post, reply = slowest
    row = rows.get((reply["bot_name"], post["message_id"]))
    if row is None:
        return None
    started = row.send_started_at
    return SlowestAnswer(
        bot=reply["bot_name"],
        beyond_typing=beyond_ms / 1000,
        queued_after=row.created_at - post["available_at"],
        deliberate_delay=row.not_before - row.created_at,
        waited=None if started is None else started - row.not_before,
        on_the_wire=None if started is None else reply["at"] - started,
        bot_sent_in_minute_before=None
        if started is None
        else sum(
            1
            for message in sent
            if (message["bot_name"], message["chat_id"]) == (reply["bot_name"], reply["chat_id"])
            and 0 < started - message["at"] <= 60
        ),
    )
