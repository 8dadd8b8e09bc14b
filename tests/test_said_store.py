"""What each bot said, reloaded from PostgreSQL: its last sent texts, oldest first, so a restart repeats none."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import asyncpg

from piyasa_bot.conversation.composer import Composer
from piyasa_bot.conversation.market import Market
from piyasa_bot.conversation.sentence_memory import sentence_keys
from piyasa_bot.db.pool import open_pool
from piyasa_bot.db.queries import MessageRow, insert_messages
from piyasa_bot.db.said_store import last_said
from tests.test_tics import CHAT, KEMAL, START

CHAT_ID, OTHER_CHAT = -1001, -1002
SENT_AT = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


async def add_bot(conn: asyncpg.Pool, name: str, telegram_id: int) -> int:
    return await conn.fetchval(
        "INSERT INTO bots (name, telegram_id, token_encrypted) VALUES ($1, $2, 'x') RETURNING id", name, telegram_id
    )


def sent(bot_id: int, telegram_id: int, message_id: int, text: str | None, chat_id: int = CHAT_ID) -> MessageRow:
    return MessageRow(
        chat_id, 0, message_id, bot_id, telegram_id, text, None, False, "text", None, None, SENT_AT
    )  # fmt: skip


def heard(message_id: int, text: str, received_by: int) -> MessageRow:
    """A person's message, as a bot stored it."""
    return MessageRow(CHAT_ID, 0, message_id, None, 77, text, None, True, "text", None, received_by, SENT_AT)


async def store(conn: asyncpg.Pool, rows: list[MessageRow]) -> None:
    for row in rows:  # one at a time: created_at (clock_timestamp) gives their order
        await insert_messages(conn, [row])


async def test_each_bot_gets_its_last_sent_texts_oldest_first(pool: asyncpg.Pool) -> None:
    ayse, mert = await add_bot(pool, "ayse", 1001), await add_bot(pool, "mert", 1002)
    await add_bot(pool, "quiet", 1003)
    await store(
        pool,
        [
            sent(ayse, 1001, 1, "Günaydın."),
            heard(2, "ayse borsa ne olur?", ayse),  # a person's message: not the bot's words
            sent(mert, 1002, 3, "btc uçuyo"),
            sent(ayse, 1001, 4, "BIST 9.845 puanda."),
            sent(ayse, 1001, 5, None),  # a sticker: no text
            sent(ayse, 1001, 6, "Dolar 38,20.", chat_id=OTHER_CHAT),  # every chat the bot is in counts
            sent(ayse, 1001, 7, "Bakalım."),
        ],
    )

    said = await last_said(pool, ["ayse", "mert", "quiet", "nobody"], limit=3)

    assert said == {
        "ayse": ["BIST 9.845 puanda.", "Dolar 38,20.", "Bakalım."],
        "mert": ["btc uçuyo"],
        "quiet": [],
        "nobody": [],  # not registered yet: nothing said
    }
    assert (await last_said(pool, ["ayse"]))["ayse"] == ["Günaydın.", "BIST 9.845 puanda.", "Dolar 38,20.", "Bakalım."]
    assert await last_said(pool, []) == {}


async def test_a_restarted_bot_does_not_repeat_what_it_said_before(dsn: str, pool: asyncpg.Pool) -> None:
    kemal = await add_bot(pool, "kemal", 2001)
    before = Composer(Market(random.Random(9)), random.Random(9))
    now, texts = START, []
    for _ in range(150):
        now += timedelta(minutes=4)
        draft = before.chatter(KEMAL, CHAT, [], now, reply_to=None)
        assert draft is not None
        texts.append(draft.text)
    await store(pool, [sent(kemal, 2001, index + 1, text) for index, text in enumerate(texts)])

    restarted = await open_pool(dsn)  # a new process on the same database, with the same seed
    try:
        loaded = await last_said(restarted, ["kemal"])
    finally:
        await restarted.close()
    assert loaded["kemal"] == texts
    after = Composer(Market(random.Random(9)), random.Random(9))
    for text in loaded["kemal"]:
        after.remember("kemal", text)

    signatures = {key for phrase in KEMAL.persona.signature_phrases for key in sentence_keys(phrase)}
    said_before = {key for text in texts for key in sentence_keys(text)} - signatures
    again = []
    now = START
    for _ in range(60):  # the same moments: without the memory, the very same words
        now += timedelta(minutes=4)
        draft = after.chatter(KEMAL, CHAT, [], now, reply_to=None)
        assert draft is not None
        again += [key for key in sentence_keys(draft.text) if key not in signatures]
    assert sum(key in said_before for key in again) <= 0.02 * len(again)
