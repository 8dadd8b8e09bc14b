"""What the other runners stored, read back for the chats this runner directs.

A chat's director runs on one runner, but any runner's bot may be the one
that received a person's message first (and stored it), and any runner's bot
may have spoken. So the owner of a chat reads the rows the others stored:
at once when an insert's notification names their ids, and by time every few
seconds in case a notification was lost (a reconnect, a runner that just
joined). What this runner stored itself it heard live. Each row is handed on
once (`Seen`), however many of the two ways bring it.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Collection, Coroutine, Hashable
from datetime import datetime
from typing import Any, NamedTuple, Protocol

import asyncpg
import structlog

from piyasa_bot.db.retry import DATABASE_ERRORS

log = structlog.get_logger(__name__)

CATCH_UP_EVERY = 3.0  # seconds between looks by time
CATCH_UP_WINDOW = 15.0  # each look reads rows stored this recently (commits are late by far less)
SEEN_KEPT = 20_000  # row ids remembered: more than the catch-up window holds at a loaded fleet's rate


class StoredLine(NamedTuple):
    """One text message of a chat, as another runner stored it."""

    row_id: int
    chat_id: int  # as stored (a chat Telegram renumbered is under its new id)
    id_scope: int  # non-zero in a basic group, where each bot numbers the messages itself
    message_id: int
    text: str
    at: datetime
    bot_id: int | None  # the bot that sent it; None for a person
    from_user_id: int | None
    reply_to_message_id: int | None
    reply_to_bot_id: int | None  # the roster bot whose message this replies to
    received_by: int | None  # the bot whose copy was stored
    copy_key: str | None


class Hearer(Protocol):
    def hear_stored(self, line: StoredLine) -> None: ...


_SELECT = """
SELECT m.id, m.chat_id, m.id_scope, m.telegram_message_id, m.text, coalesce(m.sent_at, m.created_at),
       m.bot_id, m.from_user_id, m.reply_to_message_id, r.bot_id, m.received_by, m.copy_key
FROM messages m
LEFT JOIN LATERAL (
    SELECT bot_id FROM messages p
    WHERE p.chat_id = m.chat_id AND p.id_scope = m.id_scope
      AND p.telegram_message_id = m.reply_to_message_id AND p.bot_id IS NOT NULL
    LIMIT 1) r ON true
WHERE m.chat_id = ANY($1::bigint[]) AND m.stored_by IS DISTINCT FROM $2
  AND m.text IS NOT NULL AND m.kind <> 'unparsed' AND {which}
ORDER BY m.id
"""
_BY_IDS = _SELECT.format(which="m.id BETWEEN $3 AND $4")
_BY_TIME = _SELECT.format(which="m.created_at > clock_timestamp() - make_interval(secs => $3)")


class Seen:
    """Keys already handed on (row ids, messages), the oldest forgotten first."""

    def __init__(self, kept: int = SEEN_KEPT) -> None:
        self._keys: OrderedDict[Hashable, None] = OrderedDict()
        self._kept = kept

    def first_time(self, key: Hashable) -> bool:
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._kept:
            self._keys.popitem(last=False)
        return True


class LineFeed:
    def __init__(
        self,
        pool: asyncpg.Pool,
        runner: str,
        chats: Callable[[], Collection[int]],
        hearer: Hearer,
        *,
        others: Callable[[], bool],
    ) -> None:
        self.pool = pool
        self.runner = runner
        self.chats = chats  # the stored ids of the chats this runner directs now
        self.hearer = hearer
        self.others = others  # True while other runners are live: only then does anyone else store
        self.seen = Seen()
        self.heard = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._catch_up: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._catch_up = asyncio.create_task(self._keep_catching_up(), name="line-feed")

    async def close(self) -> None:
        tasks = [*self._tasks, *([self._catch_up] if self._catch_up is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def inserted(self, payload: str) -> None:
        """The bus: an insert added rows `low`..`high` (perhaps our own, perhaps of chats not ours)."""
        if not self.others():
            return
        try:
            low, high = (int(part) for part in payload.split())
        except ValueError:
            log.warning("fleet.odd_notification", channel="messages", payload=payload[:80])
            return
        self._spawn(self._read(_BY_IDS, low, high))

    def look_now(self) -> None:
        """A notification may have been lost (the bus reconnected): read by time now."""
        self._spawn(self._read(_BY_TIME, CATCH_UP_WINDOW))

    def _spawn(self, read: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(read)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _keep_catching_up(self) -> None:
        while True:
            await asyncio.sleep(CATCH_UP_EVERY)
            if self.others():
                await self._read(_BY_TIME, CATCH_UP_WINDOW)

    async def _read(self, query: str, *bounds: float) -> None:
        chats = list(self.chats())
        if not chats:
            return
        try:
            rows = await self.pool.fetch(query, chats, self.runner, *bounds, timeout=5.0)
        except DATABASE_ERRORS as error:
            log.warning("fleet.lines_unread", error=type(error).__name__, then="the next catch-up reads them")
            return
        for row in rows:
            line = StoredLine(*row)
            if self.seen.first_time(line.row_id):
                self.heard += 1
                try:
                    self.hearer.hear_stored(line)
                except Exception as error:  # noqa: BLE001 - a bug on one line must not lose the rest
                    log.error("fleet.line_failed", row_id=line.row_id, error=f"{type(error).__name__}: {error}")
