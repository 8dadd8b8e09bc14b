"""What the emulator saw and did: requests, people's posts, bots' sends and reactions, refusals, faults.

Tests, `simulate`, `loadtest` and the benchmarks read these; nothing here changes
what a bot gets.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from .models import PostedMessage, ReactionRecord, RequestRecord, SentMessage

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

    def record(self, record: RequestRecord) -> None:
        self.requests.append(record)
        by_status = self._request_counts.setdefault(record.method, {})
        by_status[record.status] = by_status.get(record.status, 0) + 1

    def count_fault(self, kind: str) -> None:
        self.faults[kind] = self.faults.get(kind, 0) + 1

    def request_counts(self) -> dict[str, dict[str, int]]:
        """Method -> answer status (as a string; 0: no answer) -> requests."""
        return {method: {str(s): n for s, n in counts.items()} for method, counts in self._request_counts.items()}

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
            "posted": len(self.posted),
            "sent": len(self.sent),
            "reactions": len(self.reactions),
        }
