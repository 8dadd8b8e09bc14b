"""Answers owed: people's messages an earlier run stored, addressed to a bot, and never answered.

A message's offset is confirmed once its row is stored, and its answer is
composed afterwards, in the background (seconds, with a language model): a
run that stops in between has the message and no answer, and Telegram will
not deliver it again. The stored row is the promise: at start, once the bots
are identified, the people's messages of the roster's chats stored within the
answer's expiry (`limits.answer_ttl_seconds`) that are addressed to a bot —
"@username" in the text, or a reply to one of our bots' stored messages —
and that no outbox row answers (the answer-once index) are answered again,
the same way as when they were heard. The answer expires when it would have:
the message's time plus the expiry.

Not recovered: a mention by `text_mention` entity (entities are not stored;
bots have usernames, so a client mentions them by "@username"); in a basic
group, a reply whose stored copy is another bot's (each bot numbers its own
copy there); volunteered answers (nobody asked that bot). A message heard
again live at the same time is answered once (answering.py, and the index).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import asyncpg

from piyasa_bot.chat_kinds import BASIC_GROUP
from piyasa_bot.conversation import BotIdentity, ChatLine, classify
from piyasa_bot.conversation.hours import utc_aware
from piyasa_bot.db import queries
from piyasa_bot.db.queries import UnansweredRow
from piyasa_bot.db.retry import retrying

# What the admin router takes (handlers/admin.py): a command is never a question for the conversation.
COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(@\w+)?(\s|$)")
# Telegram's service account and the anonymous group admin: not people (the live path skips bots).
NOT_PEOPLE = frozenset({777000, 1087968824, 136817688})


@dataclass(frozen=True)
class Owed:
    """An answer owed: the person's line (under its director's chat id), the bot asked, and until when."""

    line: ChatLine
    bot_name: str
    received_by: str  # the bot whose copy was stored
    chat_type: str | None
    expires_at: float  # wall clock


def owed_answers(
    rows: Sequence[UnansweredRow],
    identities: Sequence[BotIdentity],
    names: Mapping[int, str],
    roster_chat: Callable[[int], int | None],
    ttl: float,
) -> list[Owed]:
    """The rows that are addressed to an identified bot, as the live path would tell (pure).

    `names`: bot database id -> roster name; `roster_chat`: a stored chat id -> its bots.yaml id.
    """
    owed = []
    for row in rows:
        chat_id = roster_chat(row.chat_id)
        if chat_id is None or row.from_user_id in NOT_PEOPLE or COMMAND.match(row.text):
            continue
        line = ChatLine(
            chat_id=chat_id,
            message_id=row.telegram_message_id,
            text=row.text,
            at=utc_aware(row.sent_at or row.created_at),
            user_id=row.from_user_id,
            reply_to_message_id=row.reply_to_message_id,
            reply_to_bot=names.get(row.replied_bot_id) if row.replied_bot_id is not None else None,
        )
        addressee = classify(line, identities)
        if addressee is None:
            continue
        owed.append(
            Owed(
                line=replace(line, addressed_to=addressee.bot_name),
                bot_name=addressee.bot_name,
                received_by=names.get(row.received_by, "?") if row.received_by is not None else "?",
                chat_type=BASIC_GROUP if row.id_scope else "supergroup",
                expires_at=utc_aware(row.created_at).timestamp() + ttl,
            )
        )
    return owed


async def find_owed(
    pool: asyncpg.Pool,
    identities: Sequence[BotIdentity],
    names: Mapping[int, str],
    chats: Mapping[int, int],
    ttl: float,
) -> list[Owed]:
    """Answers owed in these chats (`chats`: the id messages are stored under -> the bots.yaml id)."""
    rows = await retrying(lambda: queries.unanswered_incoming(pool, list(chats), ttl))
    return owed_answers(rows, identities, names, chats.get, ttl)
