"""What handlers need, injected as one typed object through the dispatcher."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncpg

    from piyasa_bot.bot_chats import BotChats
    from piyasa_bot.bots import BotRegistry
    from piyasa_bot.chatrooms import ChatRooms
    from piyasa_bot.ingest.aliases import ChatAliases
    from piyasa_bot.ingest.foreign import ForeignChats
    from piyasa_bot.ingest.pipeline import Recorder
    from piyasa_bot.roster import ChatConfig, Roster
    from piyasa_bot.sending.outbox import Outbox
    from piyasa_bot.steering import Steering


class Deps:
    def __init__(
        self,
        *,
        roster: Roster,
        recorder: Recorder,
        outbox: Outbox,
        pool: asyncpg.Pool,
        bots: BotRegistry,
        bot_chats: BotChats,
        aliases: ChatAliases,
        foreign: ForeignChats,
        rooms: ChatRooms | None,
        steering: Steering,
    ) -> None:
        self.recorder = recorder
        self.outbox = outbox
        self.pool = pool  # for handlers that read (admin /status)
        self.bots = bots
        self.bot_chats = bot_chats
        self.aliases = aliases  # the recorder's too: rows and lookups follow a renumbered chat alike
        self.foreign = foreign
        self.rooms = rooms  # None when the runner only records
        self.steering = steering  # pause, pace, disable: stored (admin commands, the console)
        self.use_roster(roster)

    @property
    def roster(self) -> Roster:
        return self._roster

    def use_roster(self, roster: Roster) -> None:
        """bots.yaml was edited: handlers see the new one from the next update on."""
        self._roster = roster
        self._chats = {chat.id: chat for chat in roster.chats}

    def roster_chat(self, chat_id: int) -> ChatConfig | None:
        """The bots.yaml entry of this chat, under any of its ids (None: not a roster chat)."""
        return self.aliases.lookup(self._chats, chat_id)
