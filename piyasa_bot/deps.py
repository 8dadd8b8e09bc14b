"""What handlers need, injected as one typed object through the dispatcher."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from piyasa_bot.ingest.aliases import ChatAliases
from piyasa_bot.ingest.foreign import ForeignChats
from piyasa_bot.ingest.pipeline import Recorder

if TYPE_CHECKING:
    from piyasa_bot.chatrooms import ChatRooms
    from piyasa_bot.roster import ChatConfig, Roster
    from piyasa_bot.sending.outbox import Outbox


@dataclass
class Deps:
    recorder: Recorder
    roster: Roster
    outbox: Outbox
    pool: Any  # asyncpg.Pool, for handlers that read (admin /status)
    rooms: ChatRooms | None = None  # None when the runner only records
    foreign: ForeignChats = field(default_factory=ForeignChats)

    @property
    def aliases(self) -> ChatAliases:
        """Renumbered chats; the recorder's, so that rows follow them too."""
        return self.recorder.aliases

    def roster_chat(self, chat_id: int) -> ChatConfig | None:
        """The bots.yaml entry of this chat, under any of its ids (None: not a roster chat).

        bots.yaml may name the id before a supergroup upgrade or, once edited, the one after.
        """
        aliases = self.aliases
        for candidate in (chat_id, aliases.resolve(chat_id), aliases.current(chat_id)):
            for chat in self.roster.chats:
                if chat.id == candidate:
                    return chat
        return None
