"""The operator's overrides in PostgreSQL (sql/0011_steering.sql): literal SQL, typed rows.

Each write changes one column of one row (a pause leaves the pace alone) and
returns the whole row as it now is, so the caller's copy follows the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

import asyncpg

Executor: TypeAlias = asyncpg.Connection | asyncpg.Pool


@dataclass(frozen=True)
class ChatRow:
    chat_id: int
    paused: bool
    pace: float | None  # None: as bots.yaml says
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class BotRow:
    bot: str
    disabled: bool
    updated_at: datetime
    updated_by: str


_CHAT_COLUMNS = "chat_id, paused, pace, updated_at, updated_by"
_BOT_COLUMNS = "bot, disabled, updated_at, updated_by"

_SET_PAUSED = f"""
INSERT INTO chat_steering (chat_id, paused, updated_by) VALUES ($1, $2, $3)
ON CONFLICT (chat_id) DO UPDATE SET paused = EXCLUDED.paused, updated_at = now(), updated_by = EXCLUDED.updated_by
RETURNING {_CHAT_COLUMNS}
"""

_SET_PACE = f"""
INSERT INTO chat_steering (chat_id, pace, updated_by) VALUES ($1, $2, $3)
ON CONFLICT (chat_id) DO UPDATE SET pace = EXCLUDED.pace, updated_at = now(), updated_by = EXCLUDED.updated_by
RETURNING {_CHAT_COLUMNS}
"""

_SET_DISABLED = f"""
INSERT INTO bot_steering (bot, disabled, updated_by) VALUES ($1, $2, $3)
ON CONFLICT (bot) DO UPDATE SET disabled = EXCLUDED.disabled, updated_at = now(), updated_by = EXCLUDED.updated_by
RETURNING {_BOT_COLUMNS}
"""


async def chat_rows(conn: Executor, timeout: float | None = None) -> list[ChatRow]:
    rows = await conn.fetch(f"SELECT {_CHAT_COLUMNS} FROM chat_steering", timeout=timeout)
    return [ChatRow(**row) for row in rows]


async def bot_rows(conn: Executor, timeout: float | None = None) -> list[BotRow]:
    rows = await conn.fetch(f"SELECT {_BOT_COLUMNS} FROM bot_steering", timeout=timeout)
    return [BotRow(**row) for row in rows]


async def set_paused(conn: Executor, chat_id: int, paused: bool, by: str, timeout: float | None = None) -> ChatRow:
    return ChatRow(**await conn.fetchrow(_SET_PAUSED, chat_id, paused, by, timeout=timeout))


async def set_pace(conn: Executor, chat_id: int, pace: float | None, by: str, timeout: float | None = None) -> ChatRow:
    return ChatRow(**await conn.fetchrow(_SET_PACE, chat_id, pace, by, timeout=timeout))


async def set_disabled(conn: Executor, bot: str, disabled: bool, by: str, timeout: float | None = None) -> BotRow:
    return BotRow(**await conn.fetchrow(_SET_DISABLED, bot, disabled, by, timeout=timeout))
