"""What makes two bots' copies of one message the same message.

In a supergroup the chat owns `message_id`, so (chat, message_id) names the
message for every bot. In a basic group each bot numbers messages on its own,
so the same id can name different messages; there a copy is named by what it
is (sender, date, content) plus how many identical ones this bot saw before,
so two identical messages sent in the same second are still two.

Works on the raw update dict so that copies already seen are skipped before
aiogram spends any time parsing them.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from piyasa_bot.chat_kinds import numbered_per_bot

# Update kinds that carry a message the runner stores.
MESSAGE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post")

MessageKey = tuple[int, int] | tuple[int, str]


def message_of(update: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    for kind in MESSAGE_KINDS:
        message = update.get(kind)
        if message is not None:
            return kind, message
    return None


def content_fingerprint(kind: str, message: dict[str, Any]) -> str:
    sender = (message.get("from") or message.get("sender_chat") or {}).get("id", 0)
    content = message.get("text") or message.get("caption") or ""
    extra = message.get("edit_date", "") if kind.startswith("edited") else ""
    digest = hashlib.blake2b(f"{kind}\x00{content}".encode(), digest_size=12).hexdigest()
    return f"{sender}:{message.get('date', 0)}:{extra}:{digest}"


# Copies of one message reach the other bots within seconds (their pause between polls,
# at worst a backoff of a minute); a key older than this is only memory. A copy that
# still comes later is stored once all the same (ON CONFLICT) and answered once (the
# outbox's answer-once index): forgetting costs nothing but a parse.
REMEMBER_FOR = 600.0


class _Recent:
    """Insertion-ordered keys, forgotten after `max_age` seconds or beyond `capacity`, oldest first."""

    def __init__(self, capacity: int, max_age: float = REMEMBER_FOR, clock: Callable[[], float] = time.monotonic):
        self.capacity = capacity
        self.max_age = max_age
        self._clock = clock
        self._items: OrderedDict[Any, tuple[float, Any]] = OrderedDict()

    def get(self, key: Any) -> Any:
        found = self._items.get(key)
        return None if found is None else found[1]

    def remember(self, key: Any, value: Any) -> None:
        now = self._clock()
        self._items[key] = (now, value)
        self._items.move_to_end(key)
        items, horizon = self._items, now - self.max_age
        while len(items) > self.capacity or next(iter(items.values()))[0] < horizon:
            items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class CopyKeys:
    """Gives every copy a key that is equal across bots exactly when the message is."""

    def __init__(self, capacity: int = 200_000) -> None:
        self._occurrences = _Recent(capacity)

    def key(self, bot_id: int, kind: str, message: dict[str, Any]) -> tuple[MessageKey, str | None]:
        """Return (dedupe key, copy_key for the database or None where ids suffice)."""
        chat = message.get("chat") or {}
        chat_id = int(chat.get("id", 0))
        if not numbered_per_bot(chat.get("type")):
            if kind.startswith("edited"):
                return (chat_id, f"e{message.get('message_id')}:{message.get('edit_date', 0)}"), None
            return (chat_id, int(message["message_id"])), None
        fingerprint = content_fingerprint(kind, message)
        seen_id = (bot_id, chat_id, fingerprint)
        counted = self._occurrences.get(seen_id)
        message_id = message.get("message_id")
        if counted is None or message_id not in counted:
            # This bot's own ids tell a redelivered copy from a new identical message.
            counted = (counted or ()) + (message_id,)
            self._occurrences.remember(seen_id, counted)
        copy_key = f"{fingerprint}#{counted.index(message_id)}"
        return (chat_id, copy_key), copy_key


class SeenMessages:
    """Keys of messages already handed to the writer, each with its commit future."""

    def __init__(
        self, capacity: int = 200_000, max_age: float = REMEMBER_FOR, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._seen = _Recent(capacity, max_age, clock)

    def get(self, key: MessageKey) -> Any:
        return self._seen.get(key)

    def remember(self, key: MessageKey, committed: Any) -> None:
        self._seen.remember(key, committed)

    def __len__(self) -> int:
        return len(self._seen)
