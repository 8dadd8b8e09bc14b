"""The roster's bots as the running system knows them, and the one registry to find them in.

A `BotHandle` exists from the moment a bot starts polling; Telegram's id and
username are known once its getMe has returned. The `BotRegistry` is the
name -> handle mapping that the outbox, the handlers and the chat rooms
share. Beside the name it finds a bot by its username (a mention,
`/cmd@name`), its Telegram id (a reply to one of its messages) or its
database id (a pending outbox row), and it says which bots are still being
identified, so that a message addressed to one of them can wait for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiogram import Bot


@dataclass
class BotHandle:
    """One bot of the roster while it runs."""

    name: str
    db_id: int
    bot: Bot
    telegram_id: int = 0  # 0 until getMe has answered
    username: str = ""


class BotRegistry(Mapping[str, BotHandle]):
    """The running bots by name, with lookups by username, Telegram id and database id."""

    def __init__(self) -> None:
        self._handles: dict[str, BotHandle] = {}
        self._by_username: dict[str, BotHandle] = {}
        self._by_telegram_id: dict[int, BotHandle] = {}
        self._by_db_id: dict[int, BotHandle] = {}
        self._pending: set[str] = set()  # added, neither identified nor given up on
        self._changed = asyncio.Event()
        # Bumped on every change, so that a reader can cache what it derives from the registry.
        self.version = 0

    # --- the mapping ---------------------------------------------------------------------

    def __getitem__(self, name: str) -> BotHandle:
        return self._handles[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._handles)

    def __len__(self) -> int:
        return len(self._handles)

    # --- changes -------------------------------------------------------------------------

    def add(self, handle: BotHandle) -> None:
        """A bot starts; it counts as being identified until `identified` or `gave_up`."""
        self.remove(handle.name)
        self._handles[handle.name] = handle
        self._by_db_id[handle.db_id] = handle
        self._pending.add(handle.name)
        if handle.telegram_id:
            self.identified(handle.name)
        self._touch()

    def remove(self, name: str) -> BotHandle | None:
        handle = self._handles.pop(name, None)
        if handle is None:
            return None
        self._pending.discard(name)
        self._by_db_id.pop(handle.db_id, None)
        if self._by_telegram_id.get(handle.telegram_id) is handle:
            del self._by_telegram_id[handle.telegram_id]
        if self._by_username.get(handle.username.casefold()) is handle:
            del self._by_username[handle.username.casefold()]
        self._touch()
        return handle

    def identified(self, name: str) -> None:
        """The bot's getMe answered: its handle now carries Telegram's id and username."""
        handle = self._handles.get(name)
        if handle is None or not handle.telegram_id:
            return
        self._by_telegram_id[handle.telegram_id] = handle
        if handle.username:
            self._by_username[handle.username.casefold()] = handle
        self._pending.discard(name)
        self._touch()

    def gave_up(self, name: str) -> None:
        """The bot will not be identified (its token was rejected): nobody waits for it."""
        if name in self._pending:
            self._pending.discard(name)
            self._touch()

    # --- lookups -------------------------------------------------------------------------

    def by_username(self, username: str) -> BotHandle | None:
        """The bot with this username (any case, with or without "@"), once identified."""
        return self._by_username.get(username.removeprefix("@").casefold())

    def by_telegram_id(self, telegram_id: int) -> BotHandle | None:
        return self._by_telegram_id.get(telegram_id)

    def by_db_id(self, db_id: int) -> BotHandle | None:
        return self._by_db_id.get(db_id)

    def identified_handles(self) -> list[BotHandle]:
        """Every bot whose getMe has answered, in the order they were added."""
        return [handle for handle in self._handles.values() if handle.telegram_id]

    # --- waiting for identities ----------------------------------------------------------

    @property
    def pending(self) -> frozenset[str]:
        """Bots still being identified."""
        return frozenset(self._pending)

    def known(self, names: Iterable[str]) -> bool:
        """True once none of these bots is still being identified."""
        return not self._pending or self._pending.isdisjoint(names)

    async def wait_known(self, names: Iterable[str], timeout: float | None) -> bool:
        """Wait until `known(names)`; False if `timeout` seconds passed first."""
        wanted = frozenset(names)

        async def settled() -> None:
            while not self.known(wanted):
                await self._changed.wait()

        try:
            await asyncio.wait_for(settled(), timeout)
        except TimeoutError:
            return False
        return True

    def _touch(self) -> None:
        self.version += 1
        # Waiters hold the old event: set it to wake them, and give later waiters a fresh one.
        self._changed.set()
        self._changed = asyncio.Event()
