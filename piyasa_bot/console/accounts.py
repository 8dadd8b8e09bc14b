"""The console's accounts as every request checks them: one query per few seconds, not per request.

`console-user remove` or a new role, written by another process, is seen here
within `fresh_for` seconds; then the user's session cookies are refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from piyasa_bot.console.viewer import Role
from piyasa_bot.db import console_users

FRESH_FOR = 2.0  # seconds


@dataclass(frozen=True)
class Account:
    role: Role
    version: str  # changes whenever the user is replaced: a session is signed for one version


def version_of(updated_at: datetime) -> str:
    return updated_at.isoformat()


class AccountBook:
    def __init__(
        self, pool: asyncpg.Pool, *, fresh_for: float = FRESH_FOR, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pool = pool
        self._fresh_for = fresh_for
        self._clock = clock
        self._accounts: Mapping[str, Account] = {}
        self._read_at: float | None = None

    async def current(self) -> Mapping[str, Account]:
        """Every account by name, as of at most `fresh_for` seconds ago."""
        now = self._clock()
        if self._read_at is None or now - self._read_at >= self._fresh_for:
            users = await console_users.list_users(self._pool)
            self._accounts = {user.name: Account(user.role, version_of(user.updated_at)) for user in users}
            self._read_at = now
        return self._accounts
