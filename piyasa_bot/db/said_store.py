"""What each bot said before this process started: its last sent messages, from `messages`.

The composer remembers a bot's sentences so that it does not repeat them
(conversation/sentence_memory.py); without this a restart would forget, and
the same stock sentences would come back at once. At start the runner loads
each bot's last messages here and feeds them, oldest first, to
`Composer.remember` (or the text source's `remember`).

A bot's own messages are the rows it sent: `bot_id` is the bot, not
incoming (a sibling's copy of the message, stored as incoming, is not
counted twice), with a text. The (bot_id, created_at) index serves the
per-bot "last N" directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import asyncpg

Executor: TypeAlias = asyncpg.Connection | asyncpg.Pool

_LAST_SAID = """
SELECT b.name, said.text
FROM bots b
CROSS JOIN LATERAL (
    SELECT m.text, m.created_at, m.id
    FROM messages m
    WHERE m.bot_id = b.id AND NOT m.is_incoming AND m.text IS NOT NULL AND m.text <> ''
    ORDER BY m.created_at DESC, m.id DESC
    LIMIT $2
) said
WHERE b.name = ANY($1::text[])
ORDER BY b.name, said.created_at, said.id
"""


async def last_said(conn: Executor, bot_names: Sequence[str], limit: int = 500) -> dict[str, list[str]]:
    """Each named bot's last `limit` sent texts, oldest first; a bot that has sent nothing gets []."""
    said: dict[str, list[str]] = {name: [] for name in bot_names}
    if not said or limit <= 0:
        return said
    for row in await conn.fetch(_LAST_SAID, list(said), limit):
        said[row["name"]].append(row["text"])
    return said
