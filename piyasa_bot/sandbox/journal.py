"""What the emulator saw and did: requests, people's posts, bots' sends and reactions, refusals, faults.

Tests, `simulate`, `loadtest` and the benchmarks read these; nothing here changes
what a bot gets.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from .models import CutOff, PostedMessage, ReactionRecord, RequestRecord, SentMessage

MAX_REQUESTS = 100_000


class Journal:
    def __init__(self) -> None:
        self.requests: deque[RequestRecord] = deque(maxlen=MAX_REQUESTS)
        self.posted: list[PostedMessage] = []
        self.sent: list[SentMessage] = []
        self.reactions: list[ReactionRecord] = []  # every setMessageReaction that took effect
        self.rate_limited = {"injected": 0, "enforced": 0}
        # Kinds beyond these two appear once first injected (see faults.Fault).
        self.faults: dict[str, int] = {"5xx": 0, "drop": 0}
        self._request_counts: dict[str, dict[int, int]] = {}
        # Per bot: long polls ended with 409 because a newer getUpdates on its token came in.
        self.conflicts: dict[str, int] = {}

    def record(self, record: RequestRecord) -> None:
        self.requests.append(record)
        by_status = self._request_counts.setdefault(record.method, {})
        by_status[record.status] = by_status.get(record.status, 0) + 1
        if record.method == "getUpdates" and record.status == 409 and record.bot_name is not None:
            self.conflicts[record.bot_name] = self.conflicts.get(record.bot_name, 0) + 1

    def count_fault(self, kind: str) -> None:
        self.faults[kind] = self.faults.get(kind, 0) + 1

    def request_counts(self) -> dict[str, dict[str, int]]:
        """Method -> answer status (as a string; 0: no answer) -> requests."""
        return {method: {str(s): n for s, n in counts.items()} for method, counts in self._request_counts.items()}

    def polls(self, since: float, until: float | None = None) -> list[RequestRecord]:
        """getUpdates requests of known bots that came in between `since` and `until` (None: now), oldest first.

        By arrival, not by answer: a long poll a runner sent before it died may be
        answered later, but only a live runner sends a new one.
        """
        return sorted(
            (
                r
                for r in self.requests
                if r.method == "getUpdates"
                and r.bot_name is not None
                and r.arrived_at is not None
                and since <= r.arrived_at
                and (until is None or r.arrived_at <= until)
            ),
            key=lambda r: r.arrived_at or 0.0,
        )

    def pollers(self, since: float, until: float | None = None) -> dict[str, set[str]]:
        """Per bot, the runners (User-Agent) whose getUpdates came in within the window.

        A bot polled only without a runner name has an empty set; a bot not polled is absent.
        """
        found: dict[str, set[str]] = {}
        for r in self.polls(since, until):
            runners = found.setdefault(r.bot_name or "", set())
            if r.runner is not None:
                runners.add(r.runner)
        return found

    def cut_offs(self, since: float, until: float | None = None) -> list[CutOff]:
        """Each long poll of the window ended with 409, with whose newer poll ended it.

        A waiting poll is ended by the next getUpdates on its token to come in: two runners
        polling one token at once cut each other off; a runner that abandons its own poll and
        asks again cuts off only itself. A poll whose client is gone (gave up, or died) is still
        cut off, as Telegram does: only the client's side can tell whether anyone still listened.
        """
        found: list[CutOff] = []
        polls = self.polls(since, until)
        for index, poll in enumerate(polls):
            if poll.status != 409:
                continue
            newer = next((p for p in polls[index + 1 :] if p.bot_name == poll.bot_name), None)
            if newer is not None and newer.arrived_at is not None:
                found.append(CutOff(poll.bot_name or "", poll.runner, newer.runner, newer.arrived_at))
        return found

    def sent_by(self, chat_id: int | None, bot_name: str | None) -> list[SentMessage]:
        return [
            s
            for s in self.sent
            if (chat_id is None or s.chat_id == chat_id) and (bot_name is None or s.bot_name == bot_name)
        ]

    def reactions_in(self, chat_id: int | None) -> list[ReactionRecord]:
        return [r for r in self.reactions if chat_id is None or r.chat_id == chat_id]

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.request_counts(),
            "rate_limited": dict(self.rate_limited),
            "faults": dict(self.faults),
            "conflicts": dict(self.conflicts),
            "posted": len(self.posted),
            "sent": len(self.sent),
            "reactions": len(self.reactions),
        }
