"""Who numbers a chat's messages: the chat itself, or each bot on its own.

In supergroups and channels Telegram's `message_id` belongs to the chat:
every bot sees the same id for the same message. In a basic group (type
"group") each bot numbers what it receives on its own, so an id means
something only together with the bot that received it. Hence, there: rows
are keyed by that bot too (`id_scope`), copies are matched by what they say
rather than by id (ingest/identity.py), and only the receiving bot can reply
to one (`reply_target`). This module is the one place that rule lives.
"""

from __future__ import annotations

BASIC_GROUP = "group"


def numbered_per_bot(chat_type: str | None) -> bool:
    """True in a basic group, where each bot has its own numbering."""
    return chat_type == BASIC_GROUP


def id_scope(chat_type: str | None, receiving_bot_telegram_id: int) -> int:
    """What a message id is unique within, besides the chat: the receiving bot in a basic group, else nothing (0)."""
    return receiving_bot_telegram_id if numbered_per_bot(chat_type) else 0


def reply_target(chat_type: str | None, message_id: int, *, received_by: str, answering_bot: str) -> int | None:
    """The id an answer from `answering_bot` can reply to, or None when that bot cannot name the message."""
    if numbered_per_bot(chat_type) and received_by != answering_bot:
        return None
    return message_id


def is_supergroup_id(chat_id: int) -> bool:
    """The same rule from an id alone (bots.yaml knows ids, not types): supergroups and channels are -100…"""
    return str(chat_id).startswith("-100")
