"""The roster written at start in a few statements: the same rows as one upsert per bot wrote."""

from __future__ import annotations

import asyncpg

from piyasa_bot.db import queries
from piyasa_bot.db.migrate import apply_migrations


async def rows(conn: asyncpg.Connection) -> tuple[list[tuple], list[tuple]]:
    bots = [
        tuple(r)
        for r in await conn.fetch(
            "SELECT name, token_encrypted, telegram_id, username, state, last_error FROM bots ORDER BY name"
        )
    ]
    links = [
        tuple(r)
        for r in await conn.fetch(
            "SELECT b.name, l.chat_id, l.active, l.reason FROM bot_chats l JOIN bots b ON b.id = l.bot_id ORDER BY 1, 2"
        )
    ]
    return bots, links


async def test_registering_the_roster_at_once_writes_what_one_bot_at_a_time_did(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await apply_migrations(conn)
        chats = [(-1001, "Piyasa"), (-1002, "Kripto")]
        roster = [
            queries.RosterBot("ayse", "enc:a2", [-1001, -1002, -1001]),
            queries.RosterBot("ali", "enc:b2", [-1002]),
        ]
        async with conn.transaction():  # an earlier run: one bot at a time; ali was then removed from -1002
            ayse = await conn.fetchval(
                "INSERT INTO bots (name, token_encrypted) VALUES ('ayse', 'enc:a1') RETURNING id"
            )
            await conn.execute("INSERT INTO bot_chats (bot_id, chat_id) VALUES ($1, -1001)", ayse)
            await queries.set_bot_chat_active(conn, ayse, -1001, False, "kicked")
        async with conn.transaction():
            ids = await queries.register_roster(conn, chats, roster)
        assert set(ids) == {"ayse", "ali"} and ids["ayse"] == ayse
        bots, links = await rows(conn)
        assert [(name, token) for name, token, *_ in bots] == [("ali", "enc:b2"), ("ayse", "enc:a2")]
        assert links == [("ali", -1002, True, None), ("ayse", -1002, True, None), ("ayse", -1001, True, None)]
        assert sorted(tuple(r) for r in await conn.fetch("SELECT id, title FROM chats")) == sorted(chats)

        async with conn.transaction():  # identities and states of many bots, the last one of a bot winning
            await queries.set_bot_states(
                conn,
                [
                    queries.BotStateRow(ids["ayse"], "retrying", "network: down"),
                    queries.BotStateRow(ids["ayse"], "running", None, 7001, "ayse_bot"),
                    queries.BotStateRow(ids["ali"], "disabled", "unauthorized: Unauthorized"),
                ],
            )
        async with conn.transaction():  # the two tokens swapped between the names
            await queries.set_bot_states(
                conn,
                [
                    queries.BotStateRow(ids["ayse"], "running", None, 7002, "ali_bot"),
                    queries.BotStateRow(ids["ali"], "running", None, 7001, "ayse_bot"),
                ],
            )
        bots, _ = await rows(conn)
        assert [(name, tid, user, state, error) for name, _, tid, user, state, error in bots] == [
            ("ali", 7001, "ayse_bot", "running", None),
            ("ayse", 7002, "ali_bot", "running", None),
        ]
        assert await conn.fetchval("SELECT count(*) FROM bots WHERE last_seen_at IS NOT NULL") == 2
    finally:
        await conn.close()
