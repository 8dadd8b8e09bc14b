"""A chat taken up by this runner (at start, or handed over by the fleet) catches up: its last lines
as context, then the answers an earlier run, or the runner that directed it before, stored and never
gave (answer_recovery.py finds them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import asyncpg
import structlog

from piyasa_bot.answer_recovery import Owed, find_owed
from piyasa_bot.answering import Answers, Ask
from piyasa_bot.bots import BotRegistry
from piyasa_bot.chat_history import recent_lines
from piyasa_bot.conversation import BotIdentity, Director
from piyasa_bot.ingest.aliases import ChatAliases
from piyasa_bot.roster import Roster

log = structlog.get_logger(__name__)


class CatchUp:
    def __init__(
        self,
        pool: asyncpg.Pool,
        bots: BotRegistry,
        aliases: ChatAliases,
        answers: Answers,
        roster: Callable[[], Roster],
        directors: Callable[[], Mapping[int, Director]],
        identified: Callable[[], list[BotIdentity]],
    ) -> None:
        self.pool = pool
        self.bots = bots
        self.aliases = aliases
        self.answers = answers
        self.roster = roster  # as applied now
        self.directors = directors  # the chats directed here now, by bots.yaml id
        self.identified = identified

    async def run(self, chat_ids: list[int]) -> None:
        """Once every bot is identified: these chats' last lines as context, then the answers owed in them."""
        await self.bots.wait_known(self.bots, None)
        names = {handle.db_id: name for name, handle in self.bots.items()}
        directors = self.directors()
        chats = {self.aliases.current(chat_id): chat_id for chat_id in chat_ids if chat_id in directors}
        if not chats:
            return
        await self._remember_history(chats, names)
        try:
            owed = await find_owed(self.pool, self.identified(), names, chats, self.roster().limits.answer_ttl_seconds)
        except Exception as error:  # a bug, or a database error retrying does not cover: say so, run on
            log.error("answers.recovery_failed", error=f"{type(error).__name__}: {error}")
            return
        taken = sum(self._owe(item) for item in owed)
        if owed:
            log.info("answers.recovered", owed=len(owed), taken=taken)

    async def _remember_history(self, chats: dict[int, int], names: dict[int, str]) -> None:
        """What the chats said before: context, open threads, who spoke last."""
        try:
            history = await recent_lines(self.pool, chats, names)
        except Exception as error:  # context is a nicety: say so and start blank
            log.warning("chats.history_failed", error=f"{type(error).__name__}: {error}")
            return
        directors = self.directors()
        for chat_id, lines in history.items():
            director = directors.get(chat_id)
            if director is None:
                continue
            for line in lines:
                director.observe(line)
        if history:
            log.info("chats.history_loaded", lines=sum(len(lines) for lines in history.values()))

    def _owe(self, owed: Owed) -> bool:
        director = self.directors().get(owed.line.chat_id)
        if director is None or owed.bot_name not in director.members:
            return False
        director.observe(owed.line)
        ask = Ask(director, owed.line, owed.bot_name, owed.received_by, owed.chat_type, expires_at=owed.expires_at)
        if not self.answers.take(ask):
            return False  # heard again live meanwhile: that answer is the one
        self.answers.counts.addressed += 1
        self.answers.counts.recovered += 1
        return True
