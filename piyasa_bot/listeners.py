"""Which bots may rest: at least one bot that sees every message stays eager in each chat.

A bot whose batch held only copies pauses so that its copies pile up into
fewer, larger requests. That is safe only while another bot that reads all of
the chat's messages (privacy mode off) keeps polling at once: otherwise a
message nobody addressed would wait for a sleeper to wake.
"""

from __future__ import annotations

from collections.abc import Iterable


class Listeners:
    def __init__(self) -> None:
        self._chats: dict[str, frozenset[int]] = {}
        self._reads_all: set[str] = set()
        self._resting: set[str] = set()

    def join(self, bot: str, chats: Iterable[int]) -> None:
        self._chats[bot] = frozenset(chats)

    def leave(self, bot: str) -> None:
        self._chats.pop(bot, None)
        self._reads_all.discard(bot)
        self._resting.discard(bot)

    def identified(self, bot: str, reads_all_messages: bool) -> None:
        if reads_all_messages:
            self._reads_all.add(bot)
        else:
            self._reads_all.discard(bot)

    def may_rest(self, bot: str) -> bool:
        """True unless this bot is the last eager listener of one of its chats."""
        if bot not in self._reads_all:
            return True  # it only gets messages addressed to it; listeners get those too
        for chat in self._chats.get(bot, ()):
            others = (
                name
                for name in self._reads_all
                if name != bot and name not in self._resting and chat in self._chats.get(name, ())
            )
            if next(others, None) is None:
                return False
        return True

    def resting(self, bot: str, now_resting: bool) -> None:
        if now_resting:
            self._resting.add(bot)
        else:
            self._resting.discard(bot)
