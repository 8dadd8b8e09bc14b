"""One message a bot is to send: what, where, how urgent, and when it may and must go."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import IntEnum


class Priority(IntEnum):
    ANSWER = 0  # to a person: goes ahead of chatter that was waiting
    CHATTER = 1


@dataclass(slots=True)  # thousands may wait in a busy roster's queues
class Outgoing:
    bot: str
    chat_id: int
    text: str
    priority: Priority
    reply_to: int | None = None
    answers: int | None = None  # the person's message id this answers
    not_before: float = 0.0  # wall clock
    expires_at: float | None = None  # wall clock; the outbox sets one from the roster's limits when left None
    attempts: int = 0
    last_error: str | None = None  # why the last attempt did not send it (it was requeued)
    id: int = 0
    created: float = field(default_factory=time.time)

    @property
    def is_chatter(self) -> bool:
        return self.priority is Priority.CHATTER
