"""The "typing..." a person sees while a message waits out its deliberate delay.

Telegram shows one typing action for about 5 s, or until the bot's message
arrives. A message that is "typed" longer than that gets the action again
every few seconds until its moment comes; `Typing` keeps one such task per
outgoing message, so the outbox stops it as soon as the message is sent or
dropped. Typing is cosmetic: a failed action is a debug line, never a retry.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from piyasa_bot.bots import BotHandle
from piyasa_bot.telegram import error_kind

log = structlog.get_logger(__name__)

SHOWN_FOR = 5.0  # seconds Telegram shows one typing action
RENEW_EVERY = 4.0  # seconds between actions: before the last one fades
SEND_MARGIN = 1.0  # seconds a message may arrive after its moment (the limits, the request itself)


async def show_typing(handle: BotHandle, chat_id: int) -> None:
    try:
        await handle.bot.send_chat_action(chat_id, "typing")
    except Exception as error:  # noqa: BLE001 - cosmetic: never worth more than a log line, nor a retry
        log.debug("send.typing_failed", bot=handle.name, chat_id=chat_id, error=error_kind(error))


async def keep_typing(
    handle: BotHandle,
    chat_id: int,
    until: float,
    *,
    every: float = RENEW_EVERY,
    clock: Callable[[], float] = time.time,
) -> None:
    """Typing in `chat_id` from now until `until` (on `clock`), an action every `every` seconds."""
    while True:
        await show_typing(handle, chat_id)
        if clock() + SHOWN_FOR >= until + SEND_MARGIN:
            return  # this one lasts until the message arrives
        await asyncio.sleep(every)


class Typing:
    """The typing shown for outgoing messages now, one task per message key (its outbox id)."""

    def __init__(self, every: float = RENEW_EVERY) -> None:
        self.every = every
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def start(self, key: int, handle: BotHandle, chat_id: int, until: float) -> None:
        """Show typing for message `key` until `until` (wall clock), unless it is shown already."""
        if key in self._tasks:
            return
        task = asyncio.create_task(keep_typing(handle, chat_id, until, every=self.every), name=f"typing:{key}")
        self._tasks[key] = task
        task.add_done_callback(lambda done: self._forget(key, done))

    def stop(self, key: int) -> None:
        """Message `key` is being sent, or was dropped: no more typing for it."""
        task = self._tasks.pop(key, None)
        if task is not None:
            task.cancel()

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _forget(self, key: int, task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
