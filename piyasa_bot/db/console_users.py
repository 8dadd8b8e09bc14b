"""The console's accounts (table console_users): typed queries, literal SQL.

Listings never carry a password hash; only `credentials` does, for the one
sign-in that needs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeAlias

import asyncpg

from piyasa_bot.console.viewer import Role

# Letters, digits and . _ - @: a name is shown in pages and log lines and travels in the session
# cookie, whose fields are separated by "|".
NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
NAME_RULE = "1 to 64 letters, digits or . _ - @"

Connection: TypeAlias = asyncpg.Connection | asyncpg.Pool


@dataclass(frozen=True)
class ConsoleUser:
    name: str
    role: Role
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Credentials:
    name: str
    role: Role
    updated_at: datetime
    password_hash: str = field(repr=False)  # never in a repr, hence never in a log line or a traceback


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a console user's name, or None."""
    return None if NAME.fullmatch(name) else f"a console user's name is {NAME_RULE}"


async def put_user(conn: Connection, name: str, role: Role, password_hash: str) -> bool:
    """Add the user, or replace its role and password; True when it is new."""
    created: bool = await conn.fetchval(
        """INSERT INTO console_users (name, role, password_hash) VALUES ($1, $2, $3)
           ON CONFLICT (name) DO UPDATE
               SET role = EXCLUDED.role, password_hash = EXCLUDED.password_hash, updated_at = now()
           RETURNING xmax = 0""",  # xmax is 0 for a row this statement inserted, not one it updated
        name,
        role.value,
        password_hash,
    )
    return created


async def remove_user(conn: Connection, name: str) -> bool:
    """False when there was no such user."""
    status: str = await conn.execute("DELETE FROM console_users WHERE name = $1", name)
    return status == "DELETE 1"


async def list_users(conn: Connection) -> list[ConsoleUser]:
    rows = await conn.fetch("SELECT name, role, created_at, updated_at FROM console_users ORDER BY name")
    return [ConsoleUser(row["name"], Role(row["role"]), row["created_at"], row["updated_at"]) for row in rows]


async def credentials(conn: Connection, name: str) -> Credentials | None:
    row = await conn.fetchrow("SELECT name, role, updated_at, password_hash FROM console_users WHERE name = $1", name)
    if row is None:
        return None
    return Credentials(row["name"], Role(row["role"]), row["updated_at"], row["password_hash"])


async def renew_hash(conn: Connection, name: str, old_hash: str, new_hash: str) -> None:
    """The same password hashed with today's parameters; the account's sessions stay valid (updated_at kept)."""
    await conn.execute(
        "UPDATE console_users SET password_hash = $3 WHERE name = $1 AND password_hash = $2", name, old_hash, new_hash
    )


async def count_operators(conn: Connection) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM console_users WHERE role = 'operator'")
    return count
