"""A background job whose round raises is logged and goes on: a bug never ends a source's fetching unseen."""

from __future__ import annotations

import asyncio
import io
import json

import pytest

from piyasa_bot.rounds import Job, Rounds
from tests.log_capture import capture_log_lines  # noqa: F401  # the log_lines fixture

pytestmark = pytest.mark.timeout(10)


async def test_a_round_that_raises_is_logged_told_and_the_job_goes_on(log_lines: io.StringIO) -> None:
    calls, crashes = [], []

    async def round_() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise KeyError("update_id")

    rounds = Rounds("quotes.poll_crashed")
    rounds.start("test", [Job("tcmb", round_, lambda: 0.0, lambda: crashes.append(1))])
    try:
        await asyncio.wait_for(rounds.completed("tcmb"), 5)  # a round after the crash, too
        await asyncio.wait_for(rounds.completed("tcmb"), 5)
    finally:
        await rounds.close()
    assert len(calls) >= 2 and crashes == [1]
    logged = [json.loads(line) for line in log_lines.getvalue().splitlines() if line.startswith("{")]
    assert [(e["event"], e["job"]) for e in logged if e["event"] == "quotes.poll_crashed"] == [
        ("quotes.poll_crashed", "tcmb")
    ]
