"""Resume: what an earlier run left pending, sorted into what to queue again and what to close.

Pure: it reads rows and decides; the outbox queues and writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from piyasa_bot.sending.outgoing import Outgoing, Priority
from piyasa_bot.sending.status import OutboxStatus
from piyasa_bot.sending.store import OutboxRow

GONE_BOT = "the bot is no longer in bots.yaml"


@dataclass
class ResumePlan:
    queue: list[Outgoing] = field(default_factory=list)
    close: list[tuple[Outgoing, OutboxStatus, str]] = field(default_factory=list)  # (row, status, reason)


def plan_resume(rows: list[OutboxRow], names: Mapping[int, str]) -> ResumePlan:
    """`names`: bot database id -> roster name, for the bots running now."""
    plan = ResumePlan()
    for row in rows:
        name = names.get(row.bot_id)
        item = _item(row, name or "?")
        if name is None:
            plan.close.append((item, OutboxStatus.FAILED, GONE_BOT))
        else:
            plan.queue.append(item)
    return plan


def _item(row: OutboxRow, bot: str) -> Outgoing:
    return Outgoing(
        bot=bot, chat_id=row.chat_id, text=row.text, priority=Priority(row.priority),
        reply_to=row.reply_to_message_id, answers=row.answers_message_id,
        not_before=row.not_before.timestamp(), attempts=row.attempts, id=row.id,
        expires_at=row.expires_at.timestamp() if row.expires_at else None, created=row.created_at.timestamp())
