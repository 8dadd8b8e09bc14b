"""What a restart remembers of each chat: its last lines, people's and our bots', from PostgreSQL.

Without them a restarted runner starts every chat blank: no context for the
next reply, no open thread to continue (a person replying to a bot's answer
from before the restart gets an answer out of nowhere), no idea of who spoke
last. The directors are fed these lines at start exactly as they were fed
live ones; what each bot said is also what its repeat memory is given
(db/said_store.py), so a restart does not bring old sentences back.

In a basic group each bot numbers the chat's messages itself (chat_kinds.py),
so a reply there is followed only within one bot's numbering.
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from piyasa_bot.conversation import ChatLine
from piyasa_bot.conversation.hours import utc_aware
from piyasa_bot.db.retry import retrying

LINES_KEPT = 50  # per chat: more than any context window the directors and the prompt use
MAX_AGE_HOURS = 6.0  # an older line is not context any more


async def recent_lines(
    pool: asyncpg.Pool,
    chats: Mapping[int, int],
    names: Mapping[int, str],
    *,
    limit: int = LINES_KEPT,
    max_age_hours: float = MAX_AGE_HOURS,
) -> dict[int, list[ChatLine]]:
    """The last `limit` text lines of each chat, oldest first, keyed by the bots.yaml id.

    `chats`: the id messages are stored under -> the bots.yaml id; `names`: bot db id -> name.
    """
    rows = await retrying(
        lambda: pool.fetch(
            """SELECT c.stored_id, m.telegram_message_id, m.text, coalesce(m.sent_at, m.created_at) AS at,
                      m.bot_id, m.from_user_id, m.reply_to_message_id, r.bot_id AS reply_to_bot_id
               FROM unnest($1::bigint[]) AS c(stored_id)
               CROSS JOIN LATERAL (
                   SELECT * FROM messages
                   WHERE chat_id = c.stored_id AND text IS NOT NULL AND kind <> 'unparsed'
                     AND created_at > clock_timestamp() - make_interval(hours => $3)
                   ORDER BY created_at DESC, id DESC
                   LIMIT $2) m
               LEFT JOIN LATERAL (
                   SELECT bot_id FROM messages p
                   WHERE p.chat_id = m.chat_id AND p.id_scope = m.id_scope
                     AND p.telegram_message_id = m.reply_to_message_id AND p.bot_id IS NOT NULL
                   LIMIT 1) r ON true
               ORDER BY at, m.id""",
            list(chats),
            limit,
            max_age_hours,
        )
    )
    lines: dict[int, list[ChatLine]] = {}
    for row in rows:
        author = names.get(row["bot_id"]) if row["bot_id"] is not None else None
        if row["bot_id"] is not None and author is None:
            continue  # a bot no longer in bots.yaml: its lines are not any bot's now
        chat_id = chats[row["stored_id"]]
        lines.setdefault(chat_id, []).append(
            ChatLine(
                chat_id=chat_id,
                message_id=row["telegram_message_id"],
                text=row["text"],
                at=utc_aware(row["at"]),
                author_bot=author,
                user_id=row["from_user_id"] if author is None else None,
                reply_to_message_id=row["reply_to_message_id"],
                reply_to_bot=names.get(row["reply_to_bot_id"]) if row["reply_to_bot_id"] is not None else None,
            )
        )
    return lines
