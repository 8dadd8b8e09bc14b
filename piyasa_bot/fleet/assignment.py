"""Who should own what: rendezvous hashing with bounded loads, over the live runners.

Each key ranks the runners by a hash of (runner, key); plain rendezvous gives
it to the first. Over a dozen keys that is uneven (12 bots on 3 runners: one
fleet in six leaves a runner fewer than two, one in fifty none), so each kind
of key is shared with a cap of ceil(keys / runners) per runner: the keys, in
an order of their own, each go to the first runner in their ranking with room
(consistent hashing with bounded loads, Mirrokni et al. 2016). Every runner
computes the same answer from the same keys and live runners, with no
coordination; when a runner joins or leaves, few keys besides the ones it
gains or loses change hands.

The answer depends on the whole set of keys, so runners share out keys only
with the runners that have the same set (`roster_fingerprint`; the
coordinator groups the live runners by it): one on another bots.yaml never
gets a key it does not have.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from typing import NamedTuple


class LeaseKey(NamedTuple):
    kind: str  # "bot" | "chat"
    key: str  # a bot's name, a chat's bots.yaml id

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"


def _hash(*parts: str) -> bytes:
    return hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).digest()


def _ranking(key: LeaseKey, runners: Collection[str]) -> list[str]:
    return sorted(runners, key=lambda runner: _hash(runner, key.kind, key.key), reverse=True)


def assign(keys: Iterable[LeaseKey], runners: Collection[str]) -> dict[LeaseKey, str]:
    """Every key's owner among `runners` (empty without runners); no runner holds more than its cap
    of a kind."""
    if not runners:
        return {}
    by_kind: dict[str, set[LeaseKey]] = defaultdict(set)
    for key in keys:
        by_kind[key.kind].add(key)
    owners: dict[LeaseKey, str] = {}
    for kind_keys in by_kind.values():
        cap = math.ceil(len(kind_keys) / len(runners))
        load: Counter[str] = Counter()
        # An order that does not depend on the runners, so every runner walks the keys alike.
        for key in sorted(kind_keys, key=lambda key: _hash(key.kind, key.key)):
            owner = next(runner for runner in _ranking(key, runners) if load[runner] < cap)
            owners[key] = owner
            load[owner] += 1
    return owners


def roster_fingerprint(keys: Iterable[LeaseKey]) -> str:
    """Names the set of keys a runner shares out (its bots.yaml's bots and chats): runners agree on an
    assignment only when their fingerprints match."""
    return _hash(*sorted(str(key) for key in set(keys))).hex()
