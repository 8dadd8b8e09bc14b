"""Typed async queries with literal SQL: the only place that spells out tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

import asyncpg


class MessageRow(NamedTuple):
    """One row of `messages`, in column order for the batch insert."""

    chat_id: int
    id_scope: int
    telegram_message_id: int
    bot_id: int | None
    from_user_id: int | None
    text: str | None
    reply_to_message_id: int | None
    is_incoming: bool
    kind: str
    copy_key: str | None
    received_by: int | None
    sent_at: datetime | None


_INSERT_MESSAGES = """
INSERT INTO messages (chat_id, id_scope, telegram_message_id, bot_id, from_user_id, text,
                      reply_to_message_id, is_incoming, kind, copy_key, received_by, sent_at)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::integer[], $5::bigint[], $6::text[],
                     $7::bigint[], $8::boolean[], $9::text[], $10::text[], $11::integer[], $12::timestamptz[])
ON CONFLICT DO NOTHING
"""


async def insert_messages(conn: asyncpg.Connection | asyncpg.Pool, rows: Sequence[MessageRow]) -> int:
    """Insert many rows in one round trip; rows already stored are skipped. Returns rows inserted."""
    columns = [list(column) for column in zip(*rows, strict=True)]
    status = await conn.execute(_INSERT_MESSAGES, *columns)
    return int(status.rsplit(" ", 1)[-1])


async def stored_tokens(conn: asyncpg.Connection) -> list[tuple[int, str]]:
    rows = await conn.fetch("SELECT id, token_encrypted FROM bots ORDER BY id")
    return [(row["id"], row["token_encrypted"]) for row in rows]


async def replace_token(conn: asyncpg.Connection, bot_id: int, token_encrypted: str) -> None:
    await conn.execute(
        "UPDATE bots SET token_encrypted = $2, updated_at = now() WHERE id = $1", bot_id, token_encrypted
    )


async def set_bot_chat_active(
    conn: asyncpg.Connection | asyncpg.Pool, bot_id: int, chat_id: int, active: bool, reason: str | None
) -> None:
    await conn.execute(
        """INSERT INTO bot_chats (bot_id, chat_id, active, reason) VALUES ($1, $2, $3, $4)
           ON CONFLICT (bot_id, chat_id) DO UPDATE SET active = $3, reason = $4, updated_at = now()""",
        bot_id,
        chat_id,
        active,
        reason,
    )


# --- edits, foreign chats, migrations, admin status (0003) -------------------------------


class EditRow(NamedTuple):
    """One row of `message_edits`: a new version of a message already delivered."""

    chat_id: int
    id_scope: int
    telegram_message_id: int
    from_user_id: int | None
    text: str | None
    kind: str
    copy_key: str | None
    received_by: int | None
    edited_at: datetime


_INSERT_EDITS = """
WITH added AS (
    INSERT INTO message_edits (chat_id, id_scope, telegram_message_id, from_user_id, text, kind, copy_key,
                               received_by, edited_at)
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[],
                         $7::text[], $8::integer[], $9::timestamptz[])
    ON CONFLICT DO NOTHING
    RETURNING chat_id, id_scope, telegram_message_id, edited_at
), latest AS (
    SELECT chat_id, id_scope, telegram_message_id, max(edited_at) AS edited_at FROM added GROUP BY 1, 2, 3
), marked AS (
    UPDATE messages m SET edited_at = l.edited_at FROM latest l
    WHERE m.chat_id = l.chat_id AND m.id_scope = l.id_scope AND m.telegram_message_id = l.telegram_message_id
      AND (m.edited_at IS NULL OR m.edited_at < l.edited_at)
    RETURNING 1
)
SELECT count(*) FROM added
"""


async def insert_edits(conn: asyncpg.Connection | asyncpg.Pool, rows: Sequence[EditRow]) -> int:
    """Store edits (those already stored are skipped) and mark their messages edited. Returns edits inserted."""
    columns = [list(column) for column in zip(*rows, strict=True)]
    inserted: int = await conn.fetchval(_INSERT_EDITS, *columns)
    return inserted


async def record_foreign_chat(pool: asyncpg.Pool, chat_id: int, title: str, type_: str) -> None:
    """A chat a bot was added to or heard from that bots.yaml does not list.

    The supergroup a roster group was upgraded to stays allowed: a bot may hear from it before the
    migration reached this process (the chat's id is not known yet), after it was stored.

    Two statements, not one: an upsert that meets the row `migrate_chat` is writing waits for its
    commit, but a subquery in its DO UPDATE still reads the snapshot from before it, where the old
    group's `migrated_to` is not set yet, and it marked the upgraded supergroup foreign. The second
    statement's snapshot is taken after the first returned: it sees the migration."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO chats (id, title, type, allowed) VALUES ($1, $2, $3, false)
               ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, type = EXCLUDED.type""",
            chat_id,
            title,
            type_,
        )
        await conn.execute(
            """UPDATE chats SET allowed = false
               WHERE id = $1 AND allowed AND NOT EXISTS (SELECT 1 FROM chats old WHERE old.migrated_to = $1)""",
            chat_id,
        )


class ChatMove(NamedTuple):
    messages: int
    edits: int
    pending_sends: int
    bot_chats: int


async def migrate_chat(conn: asyncpg.Connection, old: int, new: int) -> ChatMove:
    """A basic group became a supergroup: carry its history and settings to the new id, at once.

    Idempotent (both service messages, and a redelivery, run it). Rows that
    would collide with one already under the new id stay where they are.
    Finished outbox rows stay with the old id: their answers_message_id is in
    the old group's numbering and would block answers in the supergroup, whose
    ids start again at 1. Pending ones move, without their reply target.
    """
    async with conn.transaction():
        await conn.execute(
            """INSERT INTO chats (id, title, type, allowed)
               SELECT $2, title, 'supergroup', allowed FROM chats WHERE id = $1
               ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, type = 'supergroup',
                                             allowed = EXCLUDED.allowed""",
            old,
            new,
        )
        await conn.execute(
            """INSERT INTO chats (id, type) VALUES ($1, 'supergroup') ON CONFLICT (id) DO NOTHING""", new
        )
        await conn.execute("UPDATE chats SET migrated_to = $2, type = coalesce(type, 'group') WHERE id = $1", old, new)
        messages = await conn.execute(
            """UPDATE messages m SET chat_id = $2 WHERE m.chat_id = $1 AND NOT EXISTS (
                   SELECT 1 FROM messages n WHERE n.chat_id = $2 AND (n.copy_key = m.copy_key
                       OR (n.id_scope = m.id_scope AND n.telegram_message_id = m.telegram_message_id)))""",
            old,
            new,
        )
        edits = await conn.execute(
            """UPDATE message_edits m SET chat_id = $2 WHERE m.chat_id = $1 AND NOT EXISTS (
                   SELECT 1 FROM message_edits n WHERE n.chat_id = $2 AND (n.copy_key = m.copy_key
                       OR (n.id_scope = m.id_scope AND n.telegram_message_id = m.telegram_message_id
                           AND n.edited_at = m.edited_at)))""",
            old,
            new,
        )
        pending = await conn.execute(
            """UPDATE outbox SET chat_id = $2, reply_to_message_id = NULL, answers_message_id = NULL
               WHERE chat_id = $1 AND status = 'pending'""",
            old,
            new,
        )
        await conn.execute(
            """INSERT INTO bot_chats (bot_id, chat_id, active, reason)
               SELECT bot_id, $2, active, reason FROM bot_chats WHERE chat_id = $1
               ON CONFLICT (bot_id, chat_id) DO UPDATE
               SET active = EXCLUDED.active, reason = EXCLUDED.reason, updated_at = now()""",
            old,
            new,
        )
        pairs = await conn.execute("DELETE FROM bot_chats WHERE chat_id = $1", old)
    return ChatMove(*(int(status.rsplit(" ", 1)[-1]) for status in (messages, edits, pending, pairs)))


async def chat_migrations(conn: asyncpg.Connection | asyncpg.Pool) -> list[tuple[int, int]]:
    """(old id, new id) of every chat Telegram renumbered, as stored by `migrate_chat`."""
    rows = await conn.fetch("SELECT id, migrated_to FROM chats WHERE migrated_to IS NOT NULL ORDER BY id")
    return [(row["id"], row["migrated_to"]) for row in rows]


async def chat_activity(conn: asyncpg.Connection | asyncpg.Pool, chat_id: int) -> tuple[int, int]:
    """(people's messages, bots' messages) stored for this chat in the last hour; edits not counted."""
    row = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE is_incoming) AS people, count(*) FILTER (WHERE NOT is_incoming) AS bots
           FROM messages WHERE chat_id = $1 AND created_at > now() - interval '1 hour'""",
        chat_id,
    )
    return row["people"], row["bots"]


async def bot_chat_states(conn: asyncpg.Connection | asyncpg.Pool, chat_id: int) -> list[tuple[str, str, bool]]:
    """(bot name, bot state, active in this chat) for every bot paired with the chat."""
    rows = await conn.fetch(
        """SELECT b.name, b.state, bc.active FROM bot_chats bc JOIN bots b ON b.id = bc.bot_id
           WHERE bc.chat_id = $1 ORDER BY b.id""",
        chat_id,
    )
    return [(row["name"], row["state"], row["active"]) for row in rows]


# --- start-up in a few statements, not a few per bot (1,000 bots: 2,000 round trips before) ---------------


class RosterBot(NamedTuple):
    name: str
    token_encrypted: str
    chat_ids: Sequence[int]


async def register_roster(
    conn: asyncpg.Connection, chats: Sequence[tuple[int, str]], bots: Sequence[RosterBot]
) -> dict[str, int]:
    """Chats, bots (with their token) and memberships of the whole roster; returns each bot's id by name.

    Chats upserted, bots upserted by name (token replaced), each bot's chats set; run it in a transaction.
    """
    await conn.executemany(
        """INSERT INTO chats (id, title, allowed) VALUES ($1, $2, true)
           ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, allowed = true""",
        chats,
    )
    rows = await conn.fetch(
        """INSERT INTO bots (name, token_encrypted) SELECT * FROM unnest($1::text[], $2::text[])
           ON CONFLICT (name) DO UPDATE SET token_encrypted = EXCLUDED.token_encrypted, updated_at = now()
           RETURNING id, name""",
        [bot.name for bot in bots],
        [bot.token_encrypted for bot in bots],
    )
    ids: dict[str, int] = {row["name"]: row["id"] for row in rows}
    # dict.fromkeys: one row per pair (a chat listed twice, or two ids of one migrated chat).
    pairs = list(dict.fromkeys((ids[bot.name], chat_id) for bot in bots for chat_id in bot.chat_ids))
    await conn.execute(
        # A restart tries every listed pair again: a bot added back to a chat speaks again.
        """INSERT INTO bot_chats (bot_id, chat_id) SELECT * FROM unnest($1::integer[], $2::bigint[])
           ON CONFLICT (bot_id, chat_id) DO UPDATE SET active = true, reason = NULL, updated_at = now()""",
        [bot_id for bot_id, _ in pairs],
        [chat_id for _, chat_id in pairs],
    )
    return ids


class BotStateRow(NamedTuple):
    bot_id: int
    state: str
    error: str | None
    telegram_id: int | None = None  # set with the username once getMe answered
    username: str | None = None


async def set_bot_states(conn: asyncpg.Connection, rows: Sequence[BotStateRow]) -> None:
    """Identities (when telegram_id is given) and states of many bots; run it in a transaction.

    The last row of a bot wins, as the last of its single updates would.
    """
    latest = list({row.bot_id: row for row in rows}.values())
    identified = [row for row in latest if row.telegram_id is not None]
    if identified:
        # A token moved from one name to another: the old row gives up the identity. Every holder
        # lets go first (rows of this batch included), so that two bots may even swap tokens.
        await conn.execute(
            "UPDATE bots SET telegram_id = NULL WHERE telegram_id = ANY($1::bigint[])",
            [row.telegram_id for row in identified],
        )
        await conn.execute(
            """UPDATE bots SET telegram_id = s.telegram_id, username = s.username, updated_at = now()
               FROM unnest($1::integer[], $2::bigint[], $3::text[]) AS s (id, telegram_id, username)
               WHERE bots.id = s.id""",
            [row.bot_id for row in identified],
            [row.telegram_id for row in identified],
            [row.username or "" for row in identified],
        )
    await conn.execute(
        """UPDATE bots SET state = s.state, last_error = s.error, updated_at = now(),
                  last_seen_at = CASE WHEN s.state = 'running' THEN now() ELSE bots.last_seen_at END
           FROM unnest($1::integer[], $2::text[], $3::text[]) AS s (id, state, error)
           WHERE bots.id = s.id""",
        [row.bot_id for row in latest],
        [row.state for row in latest],
        [row.error for row in latest],
    )


# --- answers owed: what a run that stopped while composing left unanswered -----------------


class UnansweredRow(NamedTuple):
    chat_id: int
    id_scope: int
    telegram_message_id: int
    from_user_id: int
    text: str
    reply_to_message_id: int | None
    replied_bot_id: int | None  # the roster bot whose stored message this replies to
    received_by: int | None
    sent_at: datetime | None
    created_at: datetime


async def unanswered_incoming(
    conn: asyncpg.Connection | asyncpg.Pool, chat_ids: Sequence[int], within_seconds: float
) -> list[UnansweredRow]:
    """People's messages of these chats stored in the last `within_seconds` that may be addressed to a bot
    (an "@" in the text, or a reply to one of our bots' stored messages) and that no outbox row answers
    (the answer-once index); oldest first. Which bot, if any, they address is the caller's to decide."""
    rows = await conn.fetch(
        """SELECT m.chat_id, m.id_scope, m.telegram_message_id, m.from_user_id, m.text, m.reply_to_message_id,
                  r.bot_id, m.received_by, m.sent_at, m.created_at
           FROM messages m
           LEFT JOIN messages r ON r.chat_id = m.chat_id AND r.id_scope = m.id_scope
                AND r.telegram_message_id = m.reply_to_message_id AND r.bot_id IS NOT NULL
           WHERE m.is_incoming AND m.chat_id = ANY($1::bigint[])
             AND m.created_at > clock_timestamp() - make_interval(secs => $2)
             AND m.text IS NOT NULL AND m.from_user_id > 0 AND m.kind <> 'unparsed'
             AND (strpos(m.text, '@') > 0 OR r.bot_id IS NOT NULL)
             AND NOT EXISTS (SELECT 1 FROM outbox o
                             WHERE o.chat_id = m.chat_id AND o.answers_message_id = m.telegram_message_id)
           ORDER BY m.created_at, m.id""",
        list(chat_ids),
        float(within_seconds),
    )
    return [UnansweredRow(*row) for row in rows]
