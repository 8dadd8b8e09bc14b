"""Hostile and unusual updates, through the emulator and the real runner: stored when they are
messages, skipped with a log line when they are not, and the bots keep polling."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from piyasa_bot.db.pool import open_pool
from piyasa_bot.db.queries import MessageRow
from piyasa_bot.ingest.rows import clean_text
from piyasa_bot.ingest.writer import MessageWriter
from piyasa_bot.polling import BotState
from piyasa_bot.roster_loader import parse_roster
from tests.helpers import World, make_runner, make_world

pytestmark = pytest.mark.slow

CHANNEL = -1001000000777
FOREIGN_CHANNEL = -1001000000888
PERSON = {"id": 42, "is_bot": False, "first_name": "Ayşe"}


@pytest.fixture
async def world() -> AsyncIterator[World]:
    world = await make_world(3)
    yield world
    await world.emulator.stop()


def names(world: World) -> list[str]:
    return [bot.name for bot in world.emulator.bots()]


def message(world: World, message_id: int, **fields: Any) -> dict[str, Any]:
    chat = {"id": world.chat_id, "type": "supergroup", "title": "Test"}
    return {"message_id": message_id, "from": PERSON, "chat": chat, "date": int(time.time()), **fields}


def to_every_bot(world: World, update: dict[str, Any]) -> None:
    """As Telegram does: each bot in the group gets its own copy."""
    for name in names(world):
        world.emulator.push_update(name, update)


async def fetch(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_an_edit_is_kept_beside_the_original_and_never_vanishes(world: World, dsn: str) -> None:
    async with make_runner(world, dsn) as runner:
        await runner.wait_polling()
        posted = world.emulator.post(world.chat_id, user_id=42, text="dolar 40 olur")
        await world.emulator.wait_confirmed(timeout=30)
        edited_at = int(time.time()) + 5
        for seconds, text in ((0, "dolar 41 olur"), (4, "dolar 42 olur")):
            to_every_bot(
                world, {"edited_message": message(world, posted.message_id, text=text, edit_date=edited_at + seconds)}
            )
        await world.emulator.wait_confirmed(timeout=30)
    [original] = await fetch(dsn, "SELECT * FROM messages WHERE is_incoming")
    edits = await fetch(dsn, "SELECT * FROM message_edits ORDER BY edited_at")
    assert original["text"] == "dolar 40 olur"
    assert original["edited_at"] == datetime.fromtimestamp(edited_at + 4, UTC)
    assert [(e["telegram_message_id"], e["text"]) for e in edits] == [
        (posted.message_id, "dolar 41 olur"),
        (posted.message_id, "dolar 42 olur"),
    ]


async def test_photos_stickers_service_and_topic_messages_are_stored_with_their_kind(world: World, dsn: str) -> None:
    photo = [{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90}]
    sticker = {
        "file_id": "s1",
        "file_unique_id": "su1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    updates = [
        message(world, 900001, photo=photo, caption="THYAO grafiği 📈"),
        message(world, 900002, sticker=sticker),
        message(world, 900003, new_chat_members=[{"id": 77, "is_bot": False, "first_name": "Veli"}]),
        message(world, 900004, pinned_message=message(world, 900001, text="sabitlenen")),
        message(world, 900005, text="konu içinden", message_thread_id=12, is_topic_message=True),
    ]
    async with make_runner(world, dsn) as runner:
        await runner.wait_polling()
        for update in updates:
            to_every_bot(world, {"message": update})
        await world.emulator.wait_confirmed(timeout=30)
        failed = runner.ingest.updates_failed
    rows = await fetch(dsn, "SELECT telegram_message_id, kind, text FROM messages ORDER BY telegram_message_id")
    assert [tuple(r) for r in rows] == [
        (900001, "photo", "THYAO grafiği 📈"),
        (900002, "sticker", None),
        (900003, "new_chat_members", None),
        (900004, "pinned_message", None),
        (900005, "text", "konu içinden"),
    ]
    assert failed == 0


async def test_channel_posts_are_stored_from_a_roster_channel_only(world: World, dsn: str) -> None:
    bots = "".join(
        f"  - name: {n}\n    token: ${{{n.upper()}_TOKEN}}\n    chats: [{world.chat_id}]\n" for n in names(world)
    )
    yaml = f"chats:\n  - id: {world.chat_id}\n    title: Test\n  - id: {CHANNEL}\n    title: Bülten\nbots:\n{bots}"
    world = dataclasses.replace(world, loaded=parse_roster(yaml, "test.yaml", world.env, None))

    def post(chat_id: int, text: str) -> dict[str, Any]:
        chat = {"id": chat_id, "type": "channel", "title": "Kanal"}
        return {
            "channel_post": {"message_id": 5, "sender_chat": chat, "chat": chat, "date": int(time.time()), "text": text}
        }

    async with make_runner(world, dsn) as runner:
        await runner.wait_polling()
        world.emulator.push_update("bot000", post(CHANNEL, "Günün bülteni"))
        world.emulator.push_update("bot001", post(FOREIGN_CHANNEL, "reklam"))
        await world.emulator.wait_confirmed(timeout=30)
    rows = await fetch(dsn, "SELECT chat_id, from_user_id, text FROM messages")
    assert [tuple(r) for r in rows] == [(CHANNEL, CHANNEL, "Günün bülteni")]
    [foreign] = await fetch(dsn, "SELECT allowed, type FROM chats WHERE id = $1", FOREIGN_CHANNEL)
    assert tuple(foreign) == (False, "channel")


async def test_long_right_to_left_and_emoji_texts_with_wrong_entities_are_stored_verbatim(
    world: World, dsn: str
) -> None:
    longest = ("BIST 100 güne yükselişle başladı, bankalar önde. " * 90)[:4096]
    rtl = "مرحبا بالجميع 👋🏽 الدولار ١٠٠ ؟ שלום 🇹🇷"
    mention = "👨‍👩‍👧‍👦 @bot001_bot altın ne olur?"
    nul = "fiyat\x00listesi"  # PostgreSQL cannot hold a NUL in text
    wrong = [
        {"type": "mention", "offset": 5000, "length": 12},
        {"type": "bold", "offset": -3, "length": 99},
        {"type": "mention", "offset": 2, "length": 4},
    ]
    async with make_runner(world, dsn, conversation=True, seed=3) as runner:
        await runner.wait_polling()
        for text in (longest, rtl, mention, nul):
            world.emulator.post(world.chat_id, user_id=42, text=text, entities=wrong)
        await world.emulator.wait_confirmed(timeout=30)
        failed, addressed = runner.ingest.updates_failed, runner.rooms.counts.addressed
    rows = await fetch(dsn, "SELECT text FROM messages WHERE is_incoming ORDER BY id")
    assert [r["text"] for r in rows] == [longest, rtl, mention, "fiyat\ufffdlistesi"]
    assert len(rows[0]["text"]) == 4096
    assert failed == 0
    assert addressed == 1, "wrong offsets: the @username in the text still says whom it is for"


async def test_updates_nobody_handles_are_skipped_and_the_bots_poll_on(world: World, dsn: str) -> None:
    chat = message(world, 0)["chat"]
    poll = {
        "id": "3",
        "question": "Dolar?",
        "options": [{"persistent_id": "o1", "text": "yukarı", "voter_count": 1}],
        "total_voter_count": 1,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
        "allows_revoting": False,
        "members_only": False,
    }
    unhandled = [
        {"callback_query": {"id": "1", "from": PERSON, "chat_instance": "ci", "data": "x"}},
        {"inline_query": {"id": "2", "from": PERSON, "query": "dolar", "offset": ""}},
        {"poll": poll},
        {"chat_join_request": {"chat": chat, "from": PERSON, "user_chat_id": 42, "date": int(time.time())}},
        {
            "message_reaction": {
                "chat": chat,
                "message_id": 1,
                "date": int(time.time()),
                "user": PERSON,
                "old_reaction": [],
                "new_reaction": [{"type": "emoji", "emoji": "👍"}],
            }
        },
        {"some_future_kind": {"anything": [1, 2, 3]}},
    ]
    async with make_runner(world, dsn) as runner:
        await runner.wait_polling()
        for update in unhandled:
            world.emulator.push_update("bot001", update)
        posted = world.emulator.post(world.chat_id, user_id=42, text="hâlâ burada mısınız?")
        await world.emulator.wait_confirmed(timeout=30)
        skipped, failed = dict(runner.ingest.skipped), runner.ingest.updates_failed
        states = {poller.state for poller in runner.pollers.values()}
    assert skipped == {
        "callback_query": 1,
        "inline_query": 1,
        "poll": 1,
        "chat_join_request": 1,
        "message_reaction": 1,
        "unknown": 1,
    }
    assert failed == 0 and states == {BotState.RUNNING}
    assert [r["telegram_message_id"] for r in await fetch(dsn, "SELECT * FROM messages")] == [posted.message_id]


async def test_malformed_updates_do_not_stop_the_bot_and_a_message_in_one_is_kept(world: World, dsn: str) -> None:
    broken_entity = message(world, 900010, text="@bot001_bot bozuk varlık", entities=[{"type": "mention"}])
    malformed = [
        {"message": {"text": "kimsesiz"}},
        {"message": {"message_id": "abc", "chat": "yok", "date": "dün"}},
        {"message": None},
        {"message": "yalnızca bir dize"},
        {"edited_message": {"message_id": 3}},
        {"message": broken_entity},
    ]
    async with make_runner(world, dsn) as runner:
        await runner.wait_polling()
        for update in malformed:
            world.emulator.push_update("bot002", update)
        posted = world.emulator.post(world.chat_id, user_id=42, text="sonraki mesaj")
        await world.emulator.wait_confirmed(timeout=30)
        failed = runner.ingest.updates_failed
        states = {poller.state for poller in runner.pollers.values()}
    # Which bot's batch lands first is up to the network: the rows, not their order, are the promise.
    rows = await fetch(dsn, "SELECT telegram_message_id, kind, text FROM messages")
    assert sorted(tuple(r) for r in rows) == sorted(
        [(900010, "unparsed", "@bot001_bot bozuk varlık"), (posted.message_id, "text", "sonraki mesaj")]
    )
    assert failed == 5 and states == {BotState.RUNNING}


async def test_a_bot_removed_from_the_chat_is_marked_inactive_and_leaves_the_conversation(
    world: World, dsn: str
) -> None:
    async with make_runner(world, dsn, conversation=True, seed=4) as runner:
        await runner.wait_polling()
        world.emulator.remove_member(world.chat_id, "bot002", by_user=42, kicked=True)
        await world.emulator.wait_confirmed(timeout=30)
        active_after_kick = runner.rooms.directors[world.chat_id].is_active("bot002")
        [removed] = await fetch(
            dsn, "SELECT bc.active, bc.reason FROM bot_chats bc JOIN bots b ON b.id = bc.bot_id WHERE b.name = 'bot002'"
        )
        world.emulator.add_member(world.chat_id, "bot002", by_user=42)
        await world.emulator.wait_confirmed(timeout=30)
    [back] = await fetch(
        dsn, "SELECT bc.active FROM bot_chats bc JOIN bots b ON b.id = bc.bot_id WHERE b.name = 'bot002'"
    )
    assert not active_after_kick
    assert removed["active"] is False and removed["reason"] == "kicked by user 42"
    assert back["active"] is True


def test_text_postgresql_cannot_hold_is_mended_not_refused() -> None:
    assert clean_text("a\x00b") == "a\ufffdb"
    assert clean_text("yarım \ud83d emoji") == "yarım ? emoji"
    assert clean_text("👋🏽 עברית") == "👋🏽 עברית"


async def test_a_row_postgresql_refuses_costs_that_row_alone(dsn: str) -> None:
    pool = await open_pool(dsn)
    writer = MessageWriter(pool)
    writer.start()
    try:
        good = MessageRow(-100, 0, 1, None, 42, "iyi", None, True, "text", None, None, datetime.now(UTC))
        bad = good._replace(telegram_message_id=2, sent_at="dün")  # not a timestamp
        committed = [writer.submit(good), writer.submit(bad), writer.submit(good._replace(telegram_message_id=3))]
        await committed[-1]
        rows = await pool.fetch("SELECT telegram_message_id FROM messages ORDER BY 1")
    finally:
        await writer.close()
        await pool.close()
    assert [r["telegram_message_id"] for r in rows] == [1, 3]
    assert writer.rows_rejected == 1
