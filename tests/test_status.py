"""`status` as an operator reads it: per bot and per chat, from the database alone, no secrets."""

from __future__ import annotations

import argparse
import io
import json
import re
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from piyasa_bot.commands.status import NO_RUNS, UNREACHABLE, status
from piyasa_bot.sending.outbox import Outgoing, Priority
from piyasa_bot.settings import Settings
from tests.helpers import make_runner, make_world, send_as


async def run_status(settings: Settings, *, as_json: bool) -> tuple[int, str]:
    out = io.StringIO()
    code = await status(settings, argparse.Namespace(json=as_json), out)
    return code, out.getvalue()


def settings_for(dsn: str, tmp_path: Path | None = None) -> Settings:
    return Settings(database_url=SecretStr(dsn), data_dir=tmp_path or Path(".piyasa"))


async def stored_tokens(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [row["token_encrypted"] for row in await conn.fetch("SELECT token_encrypted FROM bots")]
    finally:
        await conn.close()


def table_rows(text: str, title: str) -> dict[str, dict[str, str]]:
    """A section of the text output as {first cell: {header: cell}}; columns are 2+ spaces apart."""
    lines = text.split(f"\n{title}\n", 1)[1].split("\n\n", 1)[0].splitlines()
    header = re.split(r"\s{2,}", lines[0].strip())
    rows = [dict(zip(header, re.split(r"\s{2,}", line.strip()), strict=True)) for line in lines[1:]]
    return {row[header[0]]: row for row in rows}


def by_name(rows: list[dict[str, Any]], key: str = "name") -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in rows}


@pytest.mark.slow
async def test_status_shows_each_bot_and_chat_with_counts_and_failure_reasons(dsn: str) -> None:
    world = await make_world(3)
    chat = world.chat_id
    world.emulator.remove_member(chat, "bot002")  # its sends will be refused: 403 Forbidden
    settings = settings_for(dsn)
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            for i in range(5):
                world.emulator.post(chat, user_id=600 + i, text=f"altın {i}")
            await world.emulator.wait_confirmed(timeout=20)
            await send_as(runner, "bot000", chat, "dolar sakin")
            await send_as(runner, "bot000", chat, "BIST yükselişte")
            await runner.outbox.put(Outgoing(bot="bot001", chat_id=chat, text="cevap", priority=Priority.ANSWER))
            for i in range(2):  # stale before bot001's next slot a second later
                await runner.outbox.put(
                    Outgoing(
                        bot="bot001",
                        chat_id=chat,
                        text=f"eski {i}",
                        priority=Priority.CHATTER,
                        expires_at=time.time() + 0.3,
                    )
                )
            await runner.outbox.put(Outgoing(bot="bot002", chat_id=chat, text="merhaba", priority=Priority.ANSWER))
            await runner.outbox.put(
                Outgoing(
                    bot="bot000", chat_id=chat, text="yarın", priority=Priority.ANSWER, not_before=time.time() + 3600
                )
            )
            counts = runner.outbox.counts
            await runner.outbox.wait_until(lambda: counts.sent == 3 and counts.failed == 1 and counts.expired == 2)
            code, live = await run_status(settings, as_json=True)
    finally:
        await world.emulator.stop()
    assert code == 0
    running = json.loads(live)
    assert running["runner_running"] is True, "a running runner has joined the fleet: a live row in runners"
    assert [runner["live"] for runner in running["fleet"]["runners"]] == [True]

    code, text = await run_status(settings, as_json=True)
    assert code == 0
    report = json.loads(text)
    assert report["runner_running"] is False, "a runner that stopped is not live (stopping, or its row gone)"
    bots = by_name(report["bots"])
    assert {name: bot["state"] for name, bot in bots.items()} == {
        "bot000": "stopped",
        "bot001": "stopped",
        "bot002": "stopped",
    }
    assert (bots["bot000"]["sent"], bots["bot000"]["outbox_pending"]) == (2, 1)
    assert (bots["bot001"]["sent"], bots["bot001"]["expired"]) == (1, 2)
    assert (bots["bot002"]["sent"], bots["bot002"]["failed"]) == (0, 1)
    assert sum(bot["received"] for bot in bots.values()) == 5
    assert bots["bot000"]["last_seen_at"] and bots["bot001"]["last_seen_at"]
    [room] = report["chats"]
    assert (room["id"], room["received"], room["sent"]) == (chat, 5, 3)
    assert (room["outbox_pending"], room["failed"], room["expired"]) == (1, 1, 2)
    assert (room["bots_active"], room["bots_inactive"]) == (2, 1)
    [removed] = report["removed_from_chats"]
    assert removed["bot"] == "bot002" and "not a member" in removed["reason"]
    failures = {(f["bot"], f["status"]): f for f in report["failures"]}
    assert failures.keys() == {("bot002", "failed"), ("bot001", "expired")}
    assert failures["bot002", "failed"]["reason"].startswith("forbidden") and failures["bot002", "failed"]["count"] == 1
    assert failures["bot001", "expired"]["count"] == 2

    code, table = await run_status(settings, as_json=False)
    assert code == 0
    assert "runner not running" in table
    bot_rows = table_rows(table, "BOTS")
    assert (bot_rows["bot000"]["state"], bot_rows["bot000"]["sent"], bot_rows["bot000"]["pending"]) == (
        "stopped",
        "2",
        "1",
    )
    assert (bot_rows["bot002"]["failed"], bot_rows["bot002"]["last seen"]) == ("1", "never")
    assert "FAILURES IN THE LAST HOUR, BY REASON" in table
    assert "forbidden: Forbidden: bot is not a member" in table
    assert "still queued when it stopped being fresh" in table

    secrets = [*world.env.values(), *await stored_tokens(dsn)]
    for output in (live, text, table):
        assert not any(secret in output for secret in secrets)
        assert "token_encrypted" not in output


async def test_status_on_an_empty_database_says_no_runs_yet(dsn: str) -> None:
    code, text = await run_status(settings_for(dsn), as_json=False)
    assert code == NO_RUNS
    assert text.strip() == "no runs recorded yet — run `python -m piyasa_bot migrate` or `run`"
    code, text = await run_status(settings_for(dsn), as_json=True)
    assert code == NO_RUNS and json.loads(text)["error"] == "no_runs"


async def test_status_without_a_database_url_or_embedded_data_starts_nothing(tmp_path: Path) -> None:
    code, text = await run_status(Settings(database_url=None, data_dir=tmp_path), as_json=False)
    assert code == NO_RUNS and "no runs recorded yet" in text
    assert not (tmp_path / "pg").exists()


async def test_status_when_the_database_is_unreachable_says_so_without_the_password() -> None:
    settings = settings_for("postgresql://piyasa:hunter2secret@127.0.0.1:9/piyasa")
    code, text = await run_status(settings, as_json=False)
    assert code == UNREACHABLE
    assert text.startswith("cannot reach the database: ")
    assert "hunter2secret" not in text and "Traceback" not in text


@pytest.mark.slow
async def test_the_status_command_answers_from_the_command_line(dsn: str) -> None:
    from tests.test_cli import piyasa

    code, output = await piyasa("status", env={"DATABASE_URL": dsn})
    assert code == NO_RUNS and "no runs recorded yet" in output and "Traceback" not in output
    await piyasa("migrate", env={"DATABASE_URL": dsn})
    code, output = await piyasa("status", "--json", env={"DATABASE_URL": dsn})
    assert code == 0, output
    assert json.loads(output[output.index("{") :])["bots"] == []
