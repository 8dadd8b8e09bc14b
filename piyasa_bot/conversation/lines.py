"""The small value types the conversation core passes around.

They are plain frozen dataclasses so that the runner can build them from
aiogram messages or database rows without this package knowing either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ChatLine:
    """One message in a group chat, from a person or from one of our bots.

    `entities` are Telegram's message entities as dicts
    ({"type", "offset", "length", "user"?}); offsets are UTF-16 code units.
    `addressed_to` is the bot a person's message was addressed to, once the
    caller has run `classify` on it: the director then leaves that message
    to the answering bot instead of letting chatter pick it up.
    """

    chat_id: int
    message_id: int
    text: str
    at: datetime
    author_bot: str | None = None
    user_id: int | None = None
    reply_to_message_id: int | None = None
    reply_to_bot: str | None = None
    entities: tuple[Mapping[str, Any] | Any, ...] = field(default=())
    addressed_to: str | None = None

    @property
    def is_human(self) -> bool:
        return self.author_bot is None


@dataclass(frozen=True)
class Draft:
    """What a bot would say: text plus the facts it was built from.

    `direction` is the day's direction ("up", "down", "flat") the text states
    for `symbol`, or None when it states none.
    """

    text: str
    reply_to_message_id: int | None = None
    topic: str | None = None
    symbol: str | None = None
    direction: str | None = None


@dataclass(frozen=True)
class Turn:
    """The director's plan: `bot_name` speaks in the chat at `at`, optionally replying."""

    bot_name: str
    at: datetime
    reply_to: ChatLine | None = None
