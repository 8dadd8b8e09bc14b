"""setMessageReaction as Telegram answers it: one emoji from the allowed set, on a message of the chat.

A bot (not premium) may set at most one reaction on a message; setting another
replaces its own, an empty list takes it back. The request counts in the same
per-bot windows as sendMessage (piyasa_bot counts it so too), so a bot that
reacts too much gets a 429 like one that talks too much.
"""

from __future__ import annotations

import time
from typing import Any

from .chats import ChatState
from .journal import Journal
from .limits import LimitBook
from .models import ReactionRecord, SandboxBot, bad_request, too_many_requests

# Telegram's ReactionTypeEmoji set (Bot API "ReactionTypeEmoji.emoji").
ALLOWED_REACTIONS = frozenset(
    [
        "❤",
        "👍",
        "👎",
        "🔥",
        "🥰",
        "👏",
        "😁",
        "🤔",
        "🤯",
        "😱",
        "🤬",
        "😢",
        "🎉",
        "🤩",
        "🤮",
        "💩",
        "🙏",
        "👌",
        "🕊",
        "🤡",
        "🥱",
        "🥴",
        "😍",
        "🐳",
        "❤\u200d🔥",
        "🌚",
        "🌭",
        "💯",
        "🤣",
        "⚡",
        "🍌",
        "🏆",
        "💔",
        "🤨",
        "😐",
        "🍓",
        "🍾",
        "💋",
        "🖕",
        "😈",
        "😴",
        "😭",
        "🤓",
        "👻",
        "👨\u200d💻",
        "👀",
        "🎃",
        "🙈",
        "😇",
        "😨",
        "🤝",
        "✍",
        "🤗",
        "🫡",
        "🎅",
        "🎄",
        "☃",
        "💅",
        "🤪",
        "🗿",
        "🆒",
        "💘",
        "🙉",
        "🦄",
        "😘",
        "💊",
        "🙊",
        "😎",
        "👾",
        "🤷\u200d♂",
        "🤷",
        "🤷\u200d♀",
        "😡",
    ]
)


def set_message_reaction(
    chat: ChatState, bot: SandboxBot, params: dict[str, Any], limits: LimitBook, journal: Journal
) -> bool:
    """Set (or take back) `bot`'s reaction on a message of `chat` (the bot is known to be a member)."""
    emoji = _emoji(params.get("reaction"))
    try:
        chat_message_id = chat.id_from_bot(bot.name, int(params.get("message_id", "")))
    except (TypeError, ValueError):
        raise bad_request('field "message_id" must be a number') from None
    if chat.find(chat_message_id) is None:
        raise bad_request("message to react not found")
    now = time.monotonic()
    refusal = limits.refusal(bot.name, chat.id, now)
    if refusal is not None:
        kind, retry_after = refusal
        limits.count_refusal(kind)
        journal.rate_limited["enforced"] += 1
        raise too_many_requests(retry_after)
    limits.accept(bot.name, chat.id, now)
    journal.reactions.append(ReactionRecord(bot.name, chat.id, chat_message_id, emoji, time.time()))
    return True


def _emoji(reaction: Any) -> str | None:
    """The one emoji asked for; None for an empty list (take the reaction back)."""
    if reaction in (None, ""):
        return None
    if not isinstance(reaction, list):
        raise bad_request("can't parse reaction types JSON object")
    if not reaction:
        return None
    if len(reaction) > 1:
        raise bad_request("REACTIONS_TOO_MANY")
    [kind] = reaction
    if not isinstance(kind, dict) or kind.get("type") != "emoji" or kind.get("emoji") not in ALLOWED_REACTIONS:
        raise bad_request("REACTION_INVALID")
    return str(kind["emoji"])
