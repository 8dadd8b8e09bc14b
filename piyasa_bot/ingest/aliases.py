"""Chats that Telegram renumbered: a basic group upgraded to a supergroup gets a new id.

bots.yaml keeps naming the old id until the operator edits it, so the running
system needs both directions: `resolve` gives the id bots.yaml knows (to find
the chat's settings), `current` the id Telegram uses now (to send and store).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TypeVar

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")
_MAX_HOPS = 8  # a chat migrates once; this only stops a corrupt cycle


class ChatAliases:
    def __init__(self) -> None:
        self._newer: dict[int, int] = {}  # old id -> new id
        self._older: dict[int, int] = {}  # new id -> old id
        self._waiters: dict[int, list[asyncio.Future[None]]] = {}

    def __len__(self) -> int:
        return len(self._newer)

    def load(self, migrations: Iterable[tuple[int, int]]) -> None:
        """Migrations stored by an earlier run (chats.migrated_to)."""
        for old, new in migrations:
            self._link(old, new)
            log.warning(
                "chat.migrated_earlier",
                old_chat_id=old,
                new_chat_id=new,
                action=f"bots.yaml still names {old}: replace it with {new}",
            )

    def add(self, old: int, new: int) -> bool:
        """Record a migration seen now; True the first time (the caller moves the chat's rows then)."""
        if self._newer.get(old) == new:
            return False
        self._link(old, new)
        for waiter in self._waiters.pop(new, []):
            if not waiter.done():
                waiter.set_result(None)
        return True

    def resolve(self, chat_id: int) -> int:
        """The oldest id of this chat: the one bots.yaml was written with."""
        return self._follow(self._older, chat_id)

    def current(self, chat_id: int) -> int:
        """The newest id of this chat: the one Telegram accepts now."""
        return self._follow(self._newer, chat_id)

    def lookup(self, table: Mapping[int, T], chat_id: int) -> T | None:
        """This chat's entry in `table` (keyed by bots.yaml's ids) under any of its ids.

        bots.yaml may name the id before a supergroup upgrade or, once edited, the one after.
        """
        entry = table.get(chat_id)
        if entry is not None or not self._newer:
            return entry
        for candidate in (self.resolve(chat_id), self.current(chat_id)):
            entry = table.get(candidate)
            if entry is not None:
                return entry
        return None

    def pairs(self) -> list[tuple[int, int]]:
        """(oldest id, current id) for every renumbered chat."""
        return [(old, self.current(old)) for old in self._newer if old not in self._older]

    async def wait_for(self, chat_id: int, timeout: float) -> bool:
        """Wait up to `timeout` s for `chat_id` to turn out to be the new id of a migrated chat."""
        if chat_id in self._older:
            return True
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(chat_id, []).append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            waiting = self._waiters.get(chat_id, [])
            if waiter in waiting:
                waiting.remove(waiter)
            if not waiting:
                self._waiters.pop(chat_id, None)

    def _link(self, old: int, new: int) -> None:
        self._newer[old] = new
        self._older[new] = old

    @staticmethod
    def _follow(links: dict[int, int], chat_id: int) -> int:
        for _ in range(_MAX_HOPS):
            if chat_id not in links:
                break
            chat_id = links[chat_id]
        return chat_id
