"""Resume, and the rule for a send whose outcome nobody saw.

At start the outbox queues again what an earlier run left pending. Three
kinds of row are closed instead of queued:

- the bot is no longer in bots.yaml: failed;
- the guard refuses the text (the earlier run stopped before it could say so): failed;
- the send had started (`send_started_at` set: the run stopped after the
  row was marked and before Telegram's answer was recorded): the outcome is
  unknown, and this rule decides.

The unknown-outcome rule. Telegram's sendMessage has no idempotency key, so
a request that may have reached Telegram is never sent again:

- chatter: expired, reason "outcome unknown: ...". A lost chatter line
  costs nothing; the conversation goes on.
- an answer to a person: failed, reason "outcome unknown: ...". A person
  answered twice is seen by the whole group; one answer possibly lost is
  the smaller harm, and it is counted and shown (`status`, /metrics) rather
  than hidden.

The same rule holds while running, for a send whose connection broke after
the request was written (`outcomes.SendOutcome.UNKNOWN`). A row already held
by this process (queued or on the wire) is never queued a second time.

Pure: it reads rows and decides; the outbox queues and writes.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass, field

from piyasa_bot.conversation.guard import guard
from piyasa_bot.sending.outgoing import Outgoing, Priority
from piyasa_bot.sending.status import OutboxStatus
from piyasa_bot.sending.store import OutboxRow

GONE_BOT = "the bot is no longer in bots.yaml"
STOPPED_WHILE_SENDING = "the previous run stopped after the request began and before its answer was recorded"


def unknown_outcome(item: Outgoing, why: str) -> tuple[OutboxStatus, str]:
    """How a message whose request may have reached Telegram ends: never sent again."""
    if item.is_chatter:
        return OutboxStatus.EXPIRED, f"outcome unknown: {why}; chatter is not sent twice"
    return OutboxStatus.FAILED, f"outcome unknown: {why}; not resent, so that no one is answered twice"


@dataclass
class ResumePlan:
    queue: list[Outgoing] = field(default_factory=list)
    close: list[tuple[Outgoing, OutboxStatus, str]] = field(default_factory=list)  # (row, status, reason)
    skipped: int = 0  # rows this process holds already


def plan_resume(rows: list[OutboxRow], names: Mapping[int, str], held: Container[int]) -> ResumePlan:
    """`names`: bot database id -> roster name, for the bots running now; `held`: row ids this process holds."""
    plan = ResumePlan()
    for row in rows:
        if row.id in held:
            plan.skipped += 1  # queued by this run before the resume came round to it
            continue
        name = names.get(row.bot_id)
        item = _item(row, name or "?")
        verdict = guard(item.text)
        if name is None:
            plan.close.append((item, OutboxStatus.FAILED, GONE_BOT))
        elif row.send_started_at is not None:
            plan.close.append((item, *unknown_outcome(item, STOPPED_WHILE_SENDING)))
        elif not verdict.ok:
            plan.close.append((item, OutboxStatus.FAILED, f"guard: {verdict.reason}"))
        else:
            plan.queue.append(item)
    return plan


def _item(row: OutboxRow, bot: str) -> Outgoing:
    return Outgoing(
        bot=bot,
        chat_id=row.chat_id,
        text=row.text,
        priority=Priority(row.priority),
        reply_to=row.reply_to_message_id,
        answers=row.answers_message_id,
        not_before=row.not_before.timestamp(),
        attempts=row.attempts,
        id=row.id,
        expires_at=row.expires_at.timestamp() if row.expires_at else None,
        created=row.created_at.timestamp(),
    )
