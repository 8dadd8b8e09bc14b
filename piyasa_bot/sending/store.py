"""The outbox table, as the outbox writes and reads it (literal SQL, sql/0002_outbox.sql, sql/0004_*).

Every call retries through a database outage (`db.retry.retrying`): what the
runner decided to send, and what became of it, is never lost to a blip.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

import asyncpg

from piyasa_bot.db.retry import retrying
from piyasa_bot.sending.outgoing import Outgoing
from piyasa_bot.sending.rights import BotLease
from piyasa_bot.sending.status import OutboxStatus


class OutboxRow(NamedTuple):
    id: int
    bot_id: int
    chat_id: int
    text: str
    reply_to_message_id: int | None
    answers_message_id: int | None
    priority: int
    attempts: int
    not_before: datetime
    expires_at: datetime | None
    created_at: datetime
    send_started_at: datetime | None  # set: a request may have gone out, and no answer was recorded


# OutboxRow's fields, in its order.
_COLUMNS = """id, bot_id, chat_id, text, reply_to_message_id, answers_message_id, priority, attempts,
              not_before, expires_at, created_at, send_started_at"""


def at(wall: float) -> datetime:
    return datetime.fromtimestamp(wall, UTC)


class OutboxStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def insert(self, item: Outgoing, bot_id: int) -> int | None:
        """The new row's id, or None when this person's message already has its answer."""
        expires_at = at(item.expires_at) if item.expires_at is not None else None
        return await retrying(
            lambda: self.pool.fetchval(
                """INSERT INTO outbox (bot_id, chat_id, text, reply_to_message_id, answers_message_id,
                                   priority, not_before, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT (chat_id, answers_message_id) WHERE answers_message_id IS NOT NULL DO NOTHING
               RETURNING id""",
                bot_id,
                item.chat_id,
                item.text,
                item.reply_to,
                item.answers,
                int(item.priority),
                at(item.not_before),
                expires_at,
            )
        )

    async def finish(
        self, item: Outgoing, status: OutboxStatus, reason: str | None, telegram_message_id: int | None = None
    ) -> None:
        await retrying(
            lambda: self.pool.execute(
                """UPDATE outbox SET status = $2, reason = $3, telegram_message_id = $4, attempts = $5,
                                 finished_at = now()
               WHERE id = $1""",
                item.id,
                status.value,
                reason,
                telegram_message_id,
                item.attempts,
            )
        )

    async def mark_started(self, item: Outgoing, lease: BotLease | None) -> bool:
        """Committed before the request: from now on, a crash leaves this row's outcome unknown.

        Under a bot's lease (a fleet), the mark is refused — False, nothing to send — unless this
        runner still holds the lease at that epoch and the row is still pending.
        """
        if lease is None:
            await retrying(
                lambda: self.pool.execute(
                    "UPDATE outbox SET send_started_at = clock_timestamp(), attempts = $2 WHERE id = $1",
                    item.id,
                    item.attempts,
                )
            )
            return True
        status = await retrying(
            lambda: self.pool.execute(
                """UPDATE outbox SET send_started_at = clock_timestamp(), attempts = $2
                   WHERE id = $1 AND status = 'pending'
                     AND EXISTS (SELECT 1 FROM leases WHERE kind = 'bot' AND key = $3 AND owner = $4
                                 AND epoch = $5 AND expires_at > now())""",
                item.id,
                item.attempts,
                item.bot,
                lease.runner,
                lease.epoch,
            )
        )
        return bool(status == "UPDATE 1")

    async def not_started(self, item: Outgoing) -> None:
        """The attempt certainly did not reach Telegram: the row is plainly pending again."""
        await retrying(
            lambda: self.pool.execute(
                "UPDATE outbox SET send_started_at = NULL, attempts = $2, not_before = $3 WHERE id = $1",
                item.id,
                item.attempts,
                at(item.not_before),
            )
        )

    async def move(self, item: Outgoing) -> None:
        """A pending message follows its chat to the chat's new id; its reply target is dropped.

        Telegram refused the send into the old id, so it did not start either."""
        await retrying(
            lambda: self.pool.execute(
                """UPDATE outbox SET chat_id = $2, reply_to_message_id = NULL, send_started_at = NULL, attempts = $3
               WHERE id = $1""",
                item.id,
                item.chat_id,
                item.attempts,
            )
        )

    async def answering(self, chat_id: int, message_id: int) -> tuple[OutboxStatus, OutboxRow] | None:
        """The row that answers this person's message (the answer-once index), and its status."""
        row = await retrying(
            lambda: self.pool.fetchrow(
                f"SELECT status, {_COLUMNS} FROM outbox WHERE chat_id = $1 AND answers_message_id = $2",
                chat_id,
                message_id,
            )
        )
        if row is None:
            return None
        return OutboxStatus(row[0]), OutboxRow(*row[1:])

    async def pending(self, bot_ids: list[int] | None = None) -> list[OutboxRow]:
        """Pending rows, of every bot or of these."""
        if bot_ids is None:
            rows = await retrying(
                lambda: self.pool.fetch(f"SELECT {_COLUMNS} FROM outbox WHERE status = 'pending' ORDER BY priority, id")
            )
        else:
            rows = await retrying(
                lambda: self.pool.fetch(
                    f"""SELECT {_COLUMNS} FROM outbox WHERE status = 'pending' AND bot_id = ANY($1::int[])
                        ORDER BY priority, id""",
                    bot_ids,
                )
            )
        return [OutboxRow(*row) for row in rows]

    async def recent_sends(self, bot_id: int, within: float) -> list[tuple[int, float]]:
        """(chat id, seconds ago) of this bot's sends in the last `within` seconds, whoever sent them."""
        rows = await retrying(
            lambda: self.pool.fetch(
                """SELECT chat_id, extract(epoch FROM now() - finished_at)::float8 FROM outbox
                   WHERE bot_id = $1 AND status = 'sent' AND finished_at > now() - make_interval(secs => $2)""",
                bot_id,
                within,
            )
        )
        return [(row[0], row[1]) for row in rows]

    async def notify_owner(self, bot_id: int) -> None:
        await retrying(lambda: self.pool.execute("SELECT pg_notify('piyasa_outbox', $1)", str(bot_id)))
