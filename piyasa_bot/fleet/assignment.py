"""Who should own what: rendezvous (highest-random-weight) hashing of each key over the live runners.

Every runner computes the same answer from the same list of live runners, with
no coordination; when a runner joins or leaves, only the keys it gains or
loses change hands (about 1/N of them), not the whole roster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from typing import NamedTuple


class LeaseKey(NamedTuple):
    kind: str  # "bot" | "chat"
    key: str  # a bot's name, a chat's bots.yaml id

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"


def _weight(runner: str, key: LeaseKey) -> bytes:
    return hashlib.blake2b(f"{runner}\x00{key.kind}\x00{key.key}".encode(), digest_size=8).digest()


def owner_of(key: LeaseKey, runners: Collection[str]) -> str | None:
    """The runner that should hold `key` (None without runners)."""
    return max(runners, key=lambda runner: _weight(runner, key), default=None)


def shares(keys: Iterable[LeaseKey], runners: Collection[str]) -> dict[str, list[LeaseKey]]:
    """Every runner's keys (a runner without any is listed with none)."""
    owned: dict[str, list[LeaseKey]] = {runner: [] for runner in runners}
    for key in keys:
        owner = owner_of(key, runners)
        if owner is not None:
            owned[owner].append(key)
    return owned
