"""A chat's members, message numbering and stored messages.

Supergroups number messages per chat, so every bot sees the same id. Basic
groups number them per member: here each bot's id is the chat's own number
plus a per-bot offset, which makes copies diverge (the same id names
different messages for different bots) while staying reversible.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

from .messages import as_reply_target
from .models import SentMessage

MAX_STORED_MESSAGES = 200_000  # per chat; older ones can no longer be replied to
RECENT_SENT = 50


@dataclass(frozen=True, slots=True)
class StoredMessage:
    chat_message_id: int
    sender_bot: str | None  # None for a person
    message: dict[str, Any]  # in the people's numbering


class ChatState:
    def __init__(self, chat_id: int, title: str, type_: str, forum: bool = False):
        if type_ not in ("supergroup", "group"):
            raise ValueError(f"chat type must be 'supergroup' or 'group', not {type_!r}")
        if forum and type_ != "supergroup":
            raise ValueError("only a supergroup can have topics")
        self.id = chat_id
        self.title = title
        self.type = type_
        self.as_dict: dict[str, Any] = {"id": chat_id, "type": type_, "title": title}
        if forum:
            self.as_dict["is_forum"] = True
        self.migrated_to: int | None = None  # a basic group upgraded to this supergroup
        self.members: dict[str, None] = {}  # an ordered set of bot names
        self.recent_sent: deque[SentMessage] = deque(maxlen=RECENT_SENT)
        self._next_id = 1
        self._bot_offsets: dict[str, int] = {}
        self._messages: OrderedDict[int, StoredMessage] = OrderedDict()

    @property
    def is_supergroup(self) -> bool:
        return self.type == "supergroup"

    def add_member(self, bot_name: str, bot_index: int, jitter: int) -> None:
        self.members[bot_name] = None
        if not self.is_supergroup and bot_name not in self._bot_offsets:
            # Offsets 37 apart with jitter below 37: distinct for every bot.
            self._bot_offsets[bot_name] = bot_index * 37 + jitter

    def remove_member(self, bot_name: str) -> None:
        self.members.pop(bot_name, None)

    def next_message_id(self) -> int:
        message_id = self._next_id
        self._next_id += 1
        return message_id

    def id_for_bot(self, bot_name: str, chat_message_id: int) -> int:
        if self.is_supergroup:
            return chat_message_id
        return chat_message_id + self._bot_offsets[bot_name]

    def id_from_bot(self, bot_name: str, bot_message_id: int) -> int:
        if self.is_supergroup:
            return bot_message_id
        return bot_message_id - self._bot_offsets.get(bot_name, 0)

    def store(self, stored: StoredMessage) -> None:
        self._messages[stored.chat_message_id] = stored
        if len(self._messages) > MAX_STORED_MESSAGES:
            self._messages.popitem(last=False)

    def find(self, chat_message_id: int) -> StoredMessage | None:
        return self._messages.get(chat_message_id)

    def copy_for_bot(self, bot_name: str, message: dict[str, Any], replied: StoredMessage | None) -> dict[str, Any]:
        """`message` (people's numbering) as this bot sees it."""
        if self.is_supergroup:
            return message
        copy = dict(message, message_id=self.id_for_bot(bot_name, message["message_id"]))
        if replied is not None:
            copy["reply_to_message"] = as_reply_target(
                replied.message, self.id_for_bot(bot_name, replied.chat_message_id)
            )
        return copy
