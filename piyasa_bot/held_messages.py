"""People's messages held until the bots they may be addressed to are identified.

Right after a start (or once bots are added), the first bot to poll hands the
conversation messages that mention bots whose getMe has not answered yet: a
mention of `@ayse_bot` means nothing until ayse's username is known, so the
message would be taken as addressed to nobody (or volunteered by another
bot). Such a message is held, with everything after it in the same chat to
keep their order, until every bot of the chat is identified or given up on
(a rejected token), for at most `wait` seconds. A bot still unknown after
that is not waited for again: one slow bot must not hold a chat back twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection

import structlog

from piyasa_bot.bots import BotRegistry

log = structlog.get_logger(__name__)

IDENTITY_WAIT = 10.0  # seconds; getMe answers within a second even over the internet

Hearing = Callable[[], None]  # hears one message, now


class HeldUntilIdentified:
    def __init__(self, bots: BotRegistry, *, wait: float = IDENTITY_WAIT) -> None:
        self._bots = bots
        self._wait = wait
        self._held: dict[int, list[Hearing]] = {}  # chat -> messages to hear, oldest first
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._not_waited_for: set[str] = set()

    def hold(self, chat_id: int, members: Collection[str], hearing: Hearing) -> bool:
        """True if the message is held (`hearing` is called later); False: hear it now."""
        held = self._held.get(chat_id)
        if held is None:
            if not self._bots.pending:
                return False  # the usual case: everybody is known
            waiting_for = set(members) & self._bots.pending - self._not_waited_for
            if not waiting_for:
                return False
            held = self._held[chat_id] = []
            self._tasks[chat_id] = asyncio.create_task(
                self._release_when_known(chat_id, waiting_for), name=f"held:{chat_id}"
            )
        held.append(hearing)
        return True

    async def settle(self, timeout: float) -> None:
        """Wait until nothing is held (at most `timeout` s)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks.values()), timeout=timeout)

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _release_when_known(self, chat_id: int, waiting_for: set[str]) -> None:
        structlog.contextvars.clear_contextvars()  # this task speaks for the chat, not the bot that spawned it
        try:
            if not await self._bots.wait_known(waiting_for, self._wait):
                unknown = sorted(waiting_for & self._bots.pending)
                self._not_waited_for.update(unknown)
                log.warning(
                    "conversation.bots_unidentified",
                    chat_id=chat_id,
                    bots=unknown,
                    waited=self._wait,
                    action="mentions of these bots go unanswered until their getMe answers",
                )
        finally:
            del self._tasks[chat_id]
            held = self._held.pop(chat_id, [])
        for hearing in held:
            hearing()
