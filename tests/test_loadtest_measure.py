"""The load test's figures from what happened: an outage is measured, and what it held is judged apart."""

from __future__ import annotations

import dataclasses

from piyasa_bot.conversation import Composer
from piyasa_bot.loadtest.measure import AnswerRow, RunFacts, measure
from piyasa_bot.loadtest.options import LoadtestOptions
from piyasa_bot.loadtest.report import criteria, markdown

START = 1_000_000.0
DOWN, BACK = START + 10.0, START + 16.5  # asked 4 s; PostgreSQL's stop and start took the rest


def facts(stored_after_back: float) -> RunFacts:
    """One message a second for 30 s, stored 5 ms after it is available, except what the outage held."""
    posted, stored = [], {}
    for second in range(30):
        available = START + second
        created = available + 0.005
        if DOWN - 0.1 <= available < BACK:  # in flight when it went down, or arrived while it was down
            created = BACK + stored_after_back * (available - DOWN + 0.1) / (BACK - DOWN)  # the last one latest
        posted.append({"message_id": second + 1, "available_at": available, "recipients": 1})
        stored[second + 1] = (1, created)
    return RunFacts(
        duration=30.0,
        posted=posted,
        crowd_posts=[],
        sent=[],
        stored=stored,
        emulator={},
        outbox={},
        max_write_backlog=0,
        updates_failed=0,
        db_records={},
        cpu_seconds=1.0,
        peak_rss_mib=100.0,
        started_at=START,
        outage=(DOWN, BACK),
    )


def test_what_an_outage_held_is_measured_from_the_database_back_not_in_the_ingest_latency() -> None:
    results = measure(facts(stored_after_back=0.8))
    assert results.outage is not None and results.ingest_all is not None
    assert round(results.outage.seconds, 1) == 6.5 and results.outage.held == 7
    assert 700 < results.outage.stored_after_back_ms < 800
    assert results.ingest.max < 10, "the messages the outage did not touch keep their own latency"
    assert results.ingest_all.max > 6000, "with the held ones, the outage shows"
    assert all(check.passed for check in criteria(results, LoadtestOptions(db_outage=4)))


def test_a_slow_recovery_fails_its_own_criterion() -> None:
    results = measure(facts(stored_after_back=2.5))
    failed = [check.name for check in criteria(results, LoadtestOptions(db_outage=4)) if not check.passed]
    assert failed == ["held by the 6.5 s PostgreSQL outage (7): stored once it is back"]


def test_the_report_says_where_the_slowest_answer_waited() -> None:
    """Two people ask; one answer goes out 12 s after its delay, held before its send began: the report
    splits its time into deciding, the deliberate delay, the wait for its send, and the request."""
    text = "Bence dolar yatay kalır."
    typing = Composer.typing_delay(text)
    asked = [START + 1.0, START + 2.0]
    crowd = [{"message_id": i + 1, "addressed": "bot007", "available_at": at} for i, at in enumerate(asked)]
    sent_at = [asked[0] + typing + 0.3, asked[1] + typing + 12.0]
    chat = -100123
    sent = [
        {
            "bot_name": "bot007",
            "chat_id": chat,
            "message_id": 100 + i,
            "reply_to_message_id": i + 1,
            "text": text,
            "at": at,
        }
        for i, at in enumerate(sent_at)
    ]
    # The same bot in another chat meanwhile: another window, not counted.
    sent.append(
        {
            "bot_name": "bot007",
            "chat_id": -100999,
            "message_id": 7,
            "reply_to_message_id": None,
            "text": text,
            "at": asked[1],
        }
    )
    rows = {
        ("bot007", 1): AnswerRow(asked[0] + 0.1, asked[0] + 0.1 + typing, asked[0] + 0.1 + typing + 0.1),
        ("bot007", 2): AnswerRow(asked[1] + 0.2, asked[1] + 0.2 + typing, sent_at[1] - 0.05),
    }
    results = measure(
        dataclasses.replace(facts(stored_after_back=0.8), crowd_posts=crowd, sent=sent, answer_rows=rows, outage=None)
    )
    slow = results.slowest_answer
    assert slow is not None and slow.bot == "bot007"
    assert round(slow.beyond_typing, 2) == 12.0
    assert round(slow.queued_after, 2) == 0.2 and round(slow.deliberate_delay, 2) == round(typing, 2)
    assert slow.waited is not None and round(slow.waited, 2) == 11.75
    assert slow.on_the_wire is not None and round(slow.on_the_wire, 2) == 0.05
    assert slow.bot_sent_in_minute_before == 1  # the first answer, 10 s before, in this chat
    report = markdown(results, LoadtestOptions(), "chart.svg")
    assert (
        f"| … the slowest, 12.00 s beyond its typing (bot007) | queued after 0.20 s, due {typing:.2f} s later, "
        "its send began 11.75 s after that, on the wire 0.05 s; its bot had sent 1 in the minute before |"
    ) in report.splitlines()
