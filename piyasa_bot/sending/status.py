"""What the outbox reports: where a row ends, how many did, and what is held by which limit."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OutboxStatus(StrEnum):
    """The `outbox.status` column (sql/0002_outbox.sql checks the same four values)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    EXPIRED = "expired"


ENDINGS = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.EXPIRED)


@dataclass
class OutboxCounts:
    """Since start. Plain fields so that `dataclasses.asdict` gives the load test its report."""

    sent: int = 0
    failed: int = 0
    expired: int = 0
    rate_limited: int = 0  # attempts answered 429 and requeued
    retried: int = 0  # attempts that failed otherwise, safely, and were requeued
    refused: int = 0  # sends not made: the bot's lease was lost before the mark (a fleet)
    max_queue: int = 0

    def ended(self, status: OutboxStatus) -> None:
        """Count a row that reached `status` (one of ENDINGS)."""
        match status:
            case OutboxStatus.SENT:
                self.sent += 1
            case OutboxStatus.FAILED:
                self.failed += 1
            case OutboxStatus.EXPIRED:
                self.expired += 1
            case _:
                raise ValueError(f"{status} is not where a row ends")

    def total(self, status: OutboxStatus) -> int:
        """How many rows ended with `status` since start."""
        match status:
            case OutboxStatus.SENT:
                return self.sent
            case OutboxStatus.FAILED:
                return self.failed
            case OutboxStatus.EXPIRED:
                return self.expired
            case _:
                raise ValueError(f"{status} is not where a row ends")


@dataclass(frozen=True)
class LimitHolds:
    """Queued messages whose time has come but that a limit holds right now: a snapshot, not a count of waits."""

    chat: int = 0  # the (bot, chat) pace bucket or Telegram's 20-a-minute window is full
    retry_after: int = 0  # the bot is paused by a 429's retry_after
    global_bucket: int = 0  # taken off its queue, waiting for the roster-wide bucket
