"""Chats outside the roster are noted once while remembered, and what is remembered is bounded."""

from __future__ import annotations

import asyncpg
import structlog
from aiogram.types import Chat

from piyasa_bot.db.pool import open_pool
from piyasa_bot.ingest.foreign import ForeignChats


async def test_a_foreign_chat_is_noted_once_while_remembered_and_memory_stays_bounded(dsn: str) -> None:
    foreign = ForeignChats(noted_kept=3)
    chats = [Chat(id=-1000000000100 - n, type="supergroup", title=f"yabancı {n}") for n in range(6)]
    pool: asyncpg.Pool = await open_pool(dsn)
    try:
        with structlog.testing.capture_logs() as events:
            for _ in range(3):  # every copy of a message, fifty bots: one line
                await foreign.note(chats[0], pool, bot="bot000")
            for chat in chats[1:]:
                await foreign.note(chat, pool, bot="bot001")
            await foreign.note(chats[0], pool, bot="bot002")  # forgotten by now: noted again
        stored = await pool.fetchval("SELECT count(*) FROM chats WHERE allowed = false")
    finally:
        await pool.close()
    noted = [(e["chat_id"], e["bot"]) for e in events if e["event"] == "chat.not_in_roster"]
    assert noted == [(chats[0].id, "bot000"), *[(c.id, "bot001") for c in chats[1:]], (chats[0].id, "bot002")]
    assert len(foreign.noted) == 3 and list(foreign.noted) == [chats[4].id, chats[5].id, chats[0].id]
    assert chats[0].id in foreign.noted and chats[1].id not in foreign.noted
    assert stored == 6


def test_the_list_of_chats_left_keeps_the_latest() -> None:
    foreign = ForeignChats(left_kept=2)
    for n in range(5):
        foreign.left.append(("bot000", n))
    assert list(foreign.left) == [("bot000", 3), ("bot000", 4)]
