"""Steering that lasts: pause, resume and pace a chat; disable and enable a bot.

The operator steers from the console (console/steer_routes.py), a chat's admins
with /pause, /resume and /pace (handlers/admin_actions.py); both come here, the
one place where the rules live. A change is a row first (sql/0011_steering.sql):
the database is the truth, so a write that fails changes nothing in memory and
raises `NotSaved`. Then the directors follow and the chat is nudged, so that the
change takes effect now rather than at the turn already planned. At start `load`
applies the rows to every director; after a bots.yaml reload `reapply` does it
again for the new directors. bots.yaml stays the roster: a row is an override on
top of it, keyed by bots.yaml's chat id and bot name, and the states below say
when it differs from the file.

A chat's pace: a director's rate is bots.yaml's pace times a scale, so an
override sets the scale (pace / bots.yaml's pace); without one the scale is the
runner's own (`simulate --pace`). A chat bots.yaml gives pace 0 stays silent: no
override can give it another.

A disabled bot keeps listening (every message it receives is still stored) and
says nothing: every director leaves it out (no chatter, no answers, no
reactions, nor is it the bot that answers an admin command), and the outbox
expires what it has queued, and whatever it queues meanwhile, with
DISABLED_REASON (a send already on the wire finishes). A message addressed to
it is then treated as one addressed to a bot removed from the chat: if it is a
question, another bot of the chat may take it up (the directors' volunteer),
otherwise nobody answers. Enabling it undoes the directors' part; what expired
stays expired.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
import structlog

from piyasa_bot.db import steering_store
from piyasa_bot.db.retry import DATABASE_ERRORS
from piyasa_bot.db.steering_store import BotRow, ChatRow
from piyasa_bot.redaction import redact

if TYPE_CHECKING:
    from piyasa_bot.chatrooms import ChatRooms
    from piyasa_bot.conversation import Director
    from piyasa_bot.ingest.aliases import ChatAliases
    from piyasa_bot.roster import ChatConfig, Roster
    from piyasa_bot.sending.outbox import Outbox

log = structlog.get_logger(__name__)
T = TypeVar("T")

MAX_PACE = 1200.0  # messages an hour, as ChatConfig.pace allows
DISABLED_REASON = "bot disabled by operator"
# Seconds a change (or a reload) may take in all: an operator waits for the answer, and a database
# that does not answer in this time is better reported than waited for. Spent through asyncpg's own
# timeouts, not a cancellation from outside: a query cancelled that way can go back to the pool busy.
WRITE_TIMEOUT = 5.0
# A write of one override on the connection given, within the seconds given.
Write = Callable[[asyncpg.Connection, float], Coroutine[Any, Any, T]]


class SteeringError(Exception):
    """A change that was not made; the message says why, in a sentence an operator can act on."""


class UnknownTarget(SteeringError, LookupError):
    """No such chat or bot in bots.yaml."""


class ConversationOff(SteeringError):
    """This runner only records: it has no chat conversation to pause or pace."""


class InvalidPace(SteeringError, ValueError):
    """Not a number of messages an hour between 0 and MAX_PACE."""


class PaceRefused(SteeringError):
    """bots.yaml gives the chat pace 0: only bots.yaml can give it another."""


class NotSaved(SteeringError):
    """The database did not take the change: nothing changed."""


@dataclass(frozen=True)
class ChatState:
    chat_id: int  # bots.yaml's id
    title: str
    paused: bool
    pace: float  # messages an hour now (outside prime hours), as the director paces them
    yaml_pace: float  # as bots.yaml says
    pace_override: float | None  # the stored pace; None: as bots.yaml says
    updated_at: datetime | None  # of the stored row; None: never steered
    updated_by: str | None

    @property
    def pace_differs(self) -> bool:
        """A stored pace that changes what bots.yaml says (one for a chat bots.yaml silences does not)."""
        return self.pace_override is not None and self.yaml_pace > 0 and self.pace_override != self.yaml_pace

    @property
    def differs_from_yaml(self) -> bool:
        return self.paused or self.pace_differs


@dataclass(frozen=True)
class BotState:
    name: str
    disabled: bool
    updated_at: datetime | None
    updated_by: str | None

    @property
    def differs_from_yaml(self) -> bool:
        return self.disabled  # bots.yaml has no way to disable a bot: every bot in it is on


def parse_pace(text: str) -> float:
    """A pace as an operator types it ("30", "1,5" as a Turkish admin writes 1.5), or InvalidPace."""
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        raise InvalidPace(f"The pace is a number of messages an hour, 0 to {MAX_PACE:g}, not {text[:20]!r}.") from None
    return _checked_pace(value)


def _checked_pace(value: float) -> float:
    if not math.isfinite(value) or not 0 <= value <= MAX_PACE:
        raise InvalidPace(f"The pace is a number of messages an hour, 0 to {MAX_PACE:g} (0 silences the chat).")
    return value


class Steering:
    def __init__(
        self,
        pool: asyncpg.Pool,
        outbox: Outbox,
        rooms: ChatRooms | None,
        aliases: ChatAliases,
        roster: Callable[[], Roster],
    ) -> None:
        self._pool = pool
        self._outbox = outbox
        self._rooms = rooms  # None when the conversation is off: chats cannot be steered, bots can
        self._aliases = aliases  # a chat is steered under bots.yaml's id, found under any of its ids
        self._roster = roster  # the roster as applied now
        self._chats: dict[int, ChatRow] = {}  # the database's rows, as last read or written
        self._bots: dict[str, BotRow] = {}
        self._writing = asyncio.Lock()  # one change at a time: memory follows the rows in their order

    # --- start and reload -----------------------------------------------------------------

    async def load(self) -> None:
        """At start: read every override and apply it (a database error here stops the start)."""
        self._chats = {row.chat_id: row for row in await steering_store.chat_rows(self._pool)}
        self._bots = {row.bot: row for row in await steering_store.bot_rows(self._pool)}
        for row in self._bots.values():
            if row.disabled:
                self._outbox.silence(row.bot, DISABLED_REASON)
        self.reapply()
        steered = [row.chat_id for row in self._chats.values() if row.paused or row.pace is not None]
        disabled = sorted(row.bot for row in self._bots.values() if row.disabled)
        if steered or disabled:
            log.info("steering.loaded", chats=steered, disabled_bots=disabled)

    async def reload(self) -> None:
        """Another runner of the fleet saved a change (its notification): read every override again."""
        async with self._writing:
            deadline = time.monotonic() + WRITE_TIMEOUT
            try:
                async with self._pool.acquire(timeout=WRITE_TIMEOUT) as conn:
                    chats = await steering_store.chat_rows(conn, timeout=deadline - time.monotonic())
                    bots = await steering_store.bot_rows(conn, timeout=deadline - time.monotonic())
            except DATABASE_ERRORS as error:
                log.warning("steering.not_reloaded", error=type(error).__name__, then="the next change reads them")
                return
            self._chats = {row.chat_id: row for row in chats}
            self._bots = {row.bot: row for row in bots}
            for row in bots:
                if row.disabled:
                    self._outbox.silence(row.bot, DISABLED_REASON)
                else:
                    self._outbox.unsilence(row.bot)
            self.reapply()

    def reapply(self) -> None:
        """The overrides on every director (after a bots.yaml reload: its new directors)."""
        if self._rooms is None:
            return
        for director in self._rooms.directors.values():
            self._apply(director)
            self._rooms.nudge(director.chat.id)

    def _apply(self, director: Director) -> None:
        row = self._aliases.lookup(self._chats, director.chat.id)
        if row is not None and row.paused:
            director.pause()
        else:
            director.resume()
        scale = self._scale(director.chat, row)
        if director.scale != scale:
            director.scale = scale  # replans: only when it changed
        for name in self._bots:
            if self._bots[name].disabled:
                director.disable(name)
            else:
                director.enable(name)

    def _scale(self, chat: ChatConfig, row: ChatRow | None) -> float:
        runner_scale = self._rooms.scale if self._rooms is not None else 1.0
        if row is None or row.pace is None or chat.pace == 0:
            return runner_scale
        return row.pace / chat.pace

    # --- chats ------------------------------------------------------------------------------

    async def pause(self, chat_id: int, by: str) -> ChatState:
        """No chatter and no answers in the chat until `resume` (its messages are still stored)."""
        chat = self._steerable(chat_id)
        await self._save_chat(lambda conn, timeout: steering_store.set_paused(conn, chat.id, True, by, timeout))
        log.info("steering.chat_paused", chat_id=chat.id, by=by)
        return self.chat_state(chat.id)

    async def resume(self, chat_id: int, by: str) -> ChatState:
        chat = self._steerable(chat_id)
        await self._save_chat(lambda conn, timeout: steering_store.set_paused(conn, chat.id, False, by, timeout))
        log.info("steering.chat_resumed", chat_id=chat.id, by=by)
        return self.chat_state(chat.id)

    async def set_pace(self, chat_id: int, messages_per_hour: float, by: str) -> ChatState:
        """The chat's pace in messages an hour (0 silences it), whatever bots.yaml says, until changed again."""
        pace = _checked_pace(messages_per_hour)
        chat = self._steerable(chat_id)
        if pace > 0 and chat.pace == 0:
            raise PaceRefused("bots.yaml gives this chat pace 0: change the pace there first.")
        await self._save_chat(lambda conn, timeout: steering_store.set_pace(conn, chat.id, pace, by, timeout))
        log.info("steering.chat_paced", chat_id=chat.id, pace=pace, yaml_pace=chat.pace, by=by)
        return self.chat_state(chat.id)

    def chat_state(self, chat_id: int) -> ChatState:
        """The chat (under any of its ids) as steered now; UnknownTarget if bots.yaml has no such chat."""
        chat = self._chat(chat_id)
        row = self._aliases.lookup(self._chats, chat.id)
        director = self._rooms.director_of(chat.id) if self._rooms is not None else None
        if director is not None:
            pace = director.chat.pace * director.scale
        else:
            pace = row.pace if row is not None and row.pace is not None and chat.pace > 0 else chat.pace
        return ChatState(
            chat_id=chat.id,
            title=chat.title,
            paused=row.paused if row is not None else False,
            pace=pace,
            yaml_pace=chat.pace,
            pace_override=row.pace if row is not None else None,
            updated_at=row.updated_at if row is not None else None,
            updated_by=row.updated_by if row is not None else None,
        )

    def chat_states(self) -> list[ChatState]:
        """Every chat of bots.yaml, in its order."""
        return [self.chat_state(chat.id) for chat in self._roster().chats]

    def _chat(self, chat_id: int) -> ChatConfig:
        chat = self._aliases.lookup({chat.id: chat for chat in self._roster().chats}, chat_id)
        if chat is None:
            raise UnknownTarget(f"No chat {chat_id} in bots.yaml.")
        return chat

    def _steerable(self, chat_id: int) -> ChatConfig:
        if self._rooms is None:
            raise ConversationOff("The conversation is off in this run (record only): there is no chatter to steer.")
        return self._chat(chat_id)

    async def _save_chat(self, write: Write[ChatRow]) -> None:
        async with self._writing:
            row = await self._saved(write)
            self._chats[row.chat_id] = row
            if self._rooms is not None and (director := self._rooms.director_of(row.chat_id)) is not None:
                self._apply(director)
                self._rooms.nudge(row.chat_id)

    # --- bots -------------------------------------------------------------------------------

    async def disable_bot(self, name: str, by: str) -> BotState:
        """The bot keeps listening and says nothing (see the module's docstring)."""
        self._bot_config(name)
        async with self._writing:
            self._bots[name] = await self._saved(
                lambda conn, timeout: steering_store.set_disabled(conn, name, True, by, timeout)
            )
            for director in self._directors():
                director.disable(name)
                self._nudge(director)
            expired = self._outbox.silence(name, DISABLED_REASON)
        log.info("steering.bot_disabled", bot=name, by=by, queued_expired=expired)
        return self.bot_state(name)

    async def enable_bot(self, name: str, by: str) -> BotState:
        self._bot_config(name)
        async with self._writing:
            self._bots[name] = await self._saved(
                lambda conn, timeout: steering_store.set_disabled(conn, name, False, by, timeout)
            )
            self._outbox.unsilence(name)
            for director in self._directors():
                director.enable(name)
                self._nudge(director)
        log.info("steering.bot_enabled", bot=name, by=by)
        return self.bot_state(name)

    def is_disabled(self, name: str) -> bool:
        row = self._bots.get(name)
        return row is not None and row.disabled

    def bot_state(self, name: str) -> BotState:
        """The bot as steered now; UnknownTarget if bots.yaml has no such bot."""
        self._bot_config(name)
        row = self._bots.get(name)
        if row is None:
            return BotState(name=name, disabled=False, updated_at=None, updated_by=None)
        return BotState(name=name, disabled=row.disabled, updated_at=row.updated_at, updated_by=row.updated_by)

    def bot_states(self) -> list[BotState]:
        """Every bot of bots.yaml, in its order."""
        return [self.bot_state(bot.name) for bot in self._roster().bots]

    def _bot_config(self, name: str) -> None:
        if not any(bot.name == name for bot in self._roster().bots):
            raise UnknownTarget(f"No bot named {name[:64]!r} in bots.yaml.")

    def _directors(self) -> list[Director]:
        return list(self._rooms.directors.values()) if self._rooms is not None else []

    def _nudge(self, director: Director) -> None:
        if self._rooms is not None:
            self._rooms.nudge(director.chat.id)

    # --- the database -------------------------------------------------------------------------

    async def _saved(self, write: Write[T]) -> T:
        deadline = time.monotonic() + WRITE_TIMEOUT
        try:
            async with self._pool.acquire(timeout=WRITE_TIMEOUT) as conn:
                saved = await write(conn, deadline - time.monotonic())
                # The other runners of a fleet direct other chats and send for other bots: they read it too.
                # The payload names the runner that saved it (its pool's application_name): that one knows.
                await conn.execute(
                    "SELECT pg_notify('piyasa_steering', coalesce(current_setting('application_name', true), ''))",
                    timeout=deadline - time.monotonic(),
                )
                return saved
        except DATABASE_ERRORS as error:
            log.error("steering.not_saved", error=f"{type(error).__name__}: {redact(str(error))}")
            raise NotSaved(
                f"The change was not saved: the database did not take it ({type(error).__name__}). "
                "Nothing changed; try again."
            ) from error
