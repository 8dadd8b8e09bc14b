"""Real quotes and their sources' health in PostgreSQL (sql/0008_quotes.sql).

The cache (quotes/live_market.py) is the truth while the process runs; these
rows let the next process start from the last good values and let `status`,
another process, show their age and each source's last error.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeAlias

import asyncpg

from piyasa_bot.quotes.live_market import Held
from piyasa_bot.quotes.observation import Observation
from piyasa_bot.redaction import redact

Executor: TypeAlias = asyncpg.Connection | asyncpg.Pool


async def save_quotes(conn: Executor, held: Sequence[Held]) -> None:
    if not held:
        return
    await conn.executemany(
        """INSERT INTO quotes (symbol, source, price, previous_close, as_of, received_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (symbol, source) DO UPDATE SET
               price = EXCLUDED.price, previous_close = EXCLUDED.previous_close,
               as_of = EXCLUDED.as_of, received_at = EXCLUDED.received_at""",
        [
            (h.observation.symbol, h.observation.source, h.observation.price, h.observation.previous_close,
             h.observation.as_of, h.received_at)
            for h in held
        ],
    )  # fmt: skip


async def load_quotes(conn: Executor) -> list[Held]:
    rows = await conn.fetch("SELECT symbol, source, price, previous_close, as_of, received_at FROM quotes")
    return [
        Held(Observation(r["symbol"], r["price"], r["previous_close"], r["as_of"], r["source"]), r["received_at"])
        for r in rows
    ]


async def record_source(conn: Executor, name: str, kind: str, at: datetime, error: str | None) -> None:
    """A fetch's outcome: good (error None) or failed, with its reason (redacted before it is stored)."""
    if error is None:
        await conn.execute(
            """INSERT INTO quote_sources (name, kind, ok_at, failures, last_error, updated_at)
               VALUES ($1, $2, $3, 0, NULL, now())
               ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, ok_at = EXCLUDED.ok_at, failures = 0,
                   last_error = NULL, updated_at = now()""",
            name,
            kind,
            at,
        )
        return
    await conn.execute(
        """INSERT INTO quote_sources (name, kind, failed_at, failures, last_error, updated_at)
           VALUES ($1, $2, $3, 1, $4, now())
           ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, failed_at = EXCLUDED.failed_at,
               failures = quote_sources.failures + 1, last_error = EXCLUDED.last_error, updated_at = now()""",
        name,
        kind,
        at,
        redact(error),
    )
