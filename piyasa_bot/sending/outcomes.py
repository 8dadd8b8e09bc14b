"""What one send attempt came to, read from Telegram's answer or the error instead of it.

The outbox acts on a `SendResult`; this module is the one place that knows
which aiogram exception means what for a message that was to be sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import Message

from piyasa_bot.telegram import error_kind


class SendOutcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # not delivered, and trying again is safe
    RATE_LIMITED = "rate_limited"  # a 429: the bot waits out retry_after, the message is requeued
    MIGRATED = "migrated"  # the group became a supergroup: resend there
    FORBIDDEN = "forbidden"  # the bot is no longer in the chat (kicked, left, blocked)
    FAILED = "failed"  # refused for good (bad request, token rejected)


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    message: Message | None = None  # SENT: Telegram's copy of it
    kind: str | None = None  # otherwise: the error's kind (`telegram.error_kind`)
    detail: str | None = None  # and Telegram's description of it, when it gave one
    retry_after: float = 0.0  # RATE_LIMITED
    migrate_to: int | None = None  # MIGRATED

    @property
    def reason(self) -> str:
        """For the row's `reason` and the log: "kind: detail"."""
        return f"{self.kind}: {self.detail}" if self.detail else str(self.kind)


def classify(error: Exception) -> SendResult:
    """The outcome of a sendMessage that raised `error`."""
    kind = error_kind(error)
    match error:
        case TelegramRetryAfter():
            return SendResult(SendOutcome.RATE_LIMITED, kind=kind, retry_after=float(error.retry_after))
        case TelegramMigrateToChat():
            return SendResult(SendOutcome.MIGRATED, kind=kind, migrate_to=error.migrate_to_chat_id)
        case TelegramForbiddenError():
            return SendResult(SendOutcome.FORBIDDEN, kind=kind, detail=error.message)
        case TelegramBadRequest() | TelegramUnauthorizedError():
            return SendResult(SendOutcome.FAILED, kind=kind, detail=error.message)
        case _:  # network, 5xx, timeouts: try again, within reason
            return SendResult(SendOutcome.RETRY, kind=kind)
