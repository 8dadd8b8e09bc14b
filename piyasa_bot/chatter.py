"""A director's turn made into chatter: a headline or a remark, queued with its typing pause.

The director decides who speaks and when (conversation/director.py); this turns
that decision into an outbox row, or into nothing: in the chat's quiet hours,
when the chat's queue is already full of chatter, or when the text source has
nothing to say.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from piyasa_bot.conversation import Composer, Director, Turn
from piyasa_bot.ingest.aliases import ChatAliases
from piyasa_bot.llm import TextSource
from piyasa_bot.news.desk import NewsDesk
from piyasa_bot.reactions import quiet
from piyasa_bot.roster import Roster
from piyasa_bot.sending.outbox import Outbox, Outgoing, Priority

# Chatter waiting in a chat's queue beyond this many is not worth adding to.
MAX_QUEUED_CHATTER = 3


class Chatter:
    def __init__(
        self,
        outbox: Outbox,
        source: TextSource,
        roster: Callable[[], Roster],
        aliases: ChatAliases,
        news: NewsDesk | None = None,
    ) -> None:
        self.outbox = outbox
        self.source = source
        self.roster = roster  # the roster as applied now
        self.aliases = aliases
        self.news = news  # fresh headlines a turn may bring up

    async def take_turn(self, director: Director, turn: Turn, now: datetime) -> None:
        director.finish(turn)
        chat = director.chat
        if quiet(chat, now):
            return  # the chat's quiet hours: no chatter (answers to people still go out)
        chat_id = self.aliases.current(chat.id)
        if self.outbox.backlog_of(chat_id, Priority.CHATTER) >= MAX_QUEUED_CHATTER:
            return  # the chat is saturated: adding chatter would only make it expire
        roster = self.roster()
        bot = roster.bot(turn.bot_name)
        draft = None
        if self.news is not None and turn.reply_to is None:
            headline = await self.news.offer(chat, bot, now)
            if headline is not None:
                draft = await self.source.news(bot, chat, headline.title, director.recent, now)
        if draft is None:
            draft = await self.source.chatter(bot, chat, director.recent, now, turn.reply_to)
        if draft is None:
            return
        await self.outbox.put(
            Outgoing(
                bot=turn.bot_name,
                chat_id=chat_id,
                text=draft.text,
                priority=Priority.CHATTER,
                reply_to=draft.reply_to_message_id,
                not_before=time.time() + Composer.typing_delay(draft.text),  # "typing..." first, as for answers
                expires_at=time.time() + roster.limits.chatter_ttl_seconds,
            )
        )
