"""What one send attempt came to, read from Telegram's answer or the error instead of it.

The outbox acts on a `SendResult`; this module is the one place that knows
which exception means what for a message that was to be sent. The question
that matters most is whether the request can have reached Telegram:

- Telegram answered (any JSON answer: an error, a 429, a 5xx): nothing was
  sent unless it said so, and trying again is safe.
- The connection could not be made (aiohttp's ClientConnectorError family,
  a connect timeout): no byte of the request left, trying again is safe.
- Anything after the request was written — the server disconnected, the
  connection was reset, the answer was cut short or unreadable, the total
  timeout ran out — is UNKNOWN: the message may be in the chat.

aiogram wraps aiohttp's errors in TelegramNetworkError, raised `from` the
original (and its message starts with the original's class name, which is
read when a session does not chain the cause).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import aiohttp
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import Message

from piyasa_bot.logs import redact
from piyasa_bot.telegram import error_kind


class SendOutcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # not delivered, and trying again is safe
    RATE_LIMITED = "rate_limited"  # a 429: the bot waits out retry_after, the message is requeued
    MIGRATED = "migrated"  # the group became a supergroup: resend there
    FORBIDDEN = "forbidden"  # the bot is no longer in the chat (kicked, left, blocked)
    FAILED = "failed"  # refused for good (bad request, token rejected, too large)
    UNKNOWN = "unknown"  # the request may have reached Telegram, and no answer says what became of it


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    message: Message | None = None  # SENT: Telegram's copy of it
    kind: str | None = None  # otherwise: the error's kind (`telegram.error_kind`)
    detail: str | None = None  # and what it said (redacted: aiohttp's messages can carry the URL)
    retry_after: float = 0.0  # RATE_LIMITED
    migrate_to: int | None = None  # MIGRATED

    @property
    def reason(self) -> str:
        """For the row's `reason` and the log: "kind: detail"."""
        return f"{self.kind}: {self.detail}" if self.detail else str(self.kind)


def _names(types: tuple[type[BaseException], ...]) -> frozenset[str]:
    names, stack = set(), list(types)
    while stack:
        kind = stack.pop()
        names.add(kind.__name__)
        stack.extend(kind.__subclasses__())
    return frozenset(names)


# Raised before any byte of the request was written.
NOTHING_SENT: tuple[type[BaseException], ...] = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
_NOTHING_SENT_NAMES = _names(NOTHING_SENT)


def nothing_sent(error: TelegramNetworkError) -> bool:
    """Whether this network error certainly happened before the request left."""
    if error.__cause__ is not None:
        return isinstance(error.__cause__, NOTHING_SENT)
    return error.message.split(":", 1)[0] in _NOTHING_SENT_NAMES


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
        case TelegramBadRequest() | TelegramUnauthorizedError() | TelegramNotFound() | TelegramEntityTooLarge():
            # Answered, and refused: the same request would be refused again.
            return SendResult(SendOutcome.FAILED, kind=kind, detail=redact(error.message))
        case TelegramNetworkError():
            outcome = SendOutcome.RETRY if nothing_sent(error) else SendOutcome.UNKNOWN
            return SendResult(outcome, kind=kind, detail=redact(error.message))
        case TelegramAPIError():  # answered with an error (5xx and the like): not sent
            return SendResult(SendOutcome.RETRY, kind=kind, detail=redact(error.message))
        case ClientDecodeError():  # an answer that cannot be read may be the one saying "sent"
            return SendResult(SendOutcome.UNKNOWN, kind=kind, detail="the answer could not be read")
        case _:  # not an error this step expects: assume the worst, and say which
            return SendResult(SendOutcome.UNKNOWN, kind=kind, detail=redact(str(error)))
