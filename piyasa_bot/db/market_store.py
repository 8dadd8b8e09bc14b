"""The simulated market's stored state: one JSON row, read at start and written now and then.

The JSON is the market's own (`MarketState.to_json`); this module only moves
it. `claim` is how a runner starts: it stores its new state unless one is
there already, and answers with the one stored, so two runners starting
together on an empty database still end up quoting the same market.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg


async def load(conn: asyncpg.Connection | asyncpg.Pool) -> Any | None:
    """The stored state (parsed JSON), or None when no market was ever stored."""
    text = await conn.fetchval("SELECT state::text FROM market_state WHERE id = 1")
    return json.loads(text) if text is not None else None


async def save(conn: asyncpg.Connection | asyncpg.Pool, state: Any) -> None:
    """Store `state`, replacing what was there."""
    await conn.execute(
        """INSERT INTO market_state (id, state, saved_at) VALUES (1, $1::jsonb, now())
           ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, saved_at = EXCLUDED.saved_at""",
        json.dumps(state),
    )


async def claim(conn: asyncpg.Connection | asyncpg.Pool, state: Any) -> Any:
    """Store `state` if nothing is stored yet; return the state stored (ours or the earlier one)."""
    text = await conn.fetchval(
        """WITH new AS (
               INSERT INTO market_state (id, state) VALUES (1, $1::jsonb)
               ON CONFLICT (id) DO NOTHING
               RETURNING state)
           SELECT state::text FROM new
           UNION ALL
           SELECT state::text FROM market_state WHERE id = 1
           LIMIT 1""",
        json.dumps(state),
    )
    if text is None:
        # Another runner's insert committed after this statement's snapshot was taken.
        return await load(conn)
    return json.loads(text)
