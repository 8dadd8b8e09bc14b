"""A small migrator: plain SQL files applied in order, under a lock, in one transaction.

Every pending file runs in one transaction so a failure leaves the schema as it
was; `pg_advisory_xact_lock` makes a second process wait and then find nothing
left to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
_LOCK_KEY = 0x70_69_79_61  # "piya"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


class MigrationError(RuntimeError):
    pass


def discover(sql_dir: Path = SQL_DIR) -> list[Migration]:
    if not sql_dir.is_dir():
        raise MigrationError(f"{sql_dir}: migrations folder not found")
    found: list[Migration] = []
    for path in sorted(sql_dir.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path}: name it NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"{sql_dir}: two migrations share a version number")
    return found


async def apply_migrations(conn: asyncpg.Connection, sql_dir: Path = SQL_DIR) -> list[Migration]:
    """Apply what is pending; return the migrations applied now."""
    migrations = discover(sql_dir)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        applied = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        pending = [m for m in migrations if m.version not in applied]
        for migration in pending:
            try:
                await conn.execute(migration.path.read_text(encoding="utf-8"))
            except asyncpg.PostgresError as error:
                raise MigrationError(f"{migration.path.name}: {error}") from error
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", migration.version, migration.name
            )
    return pending
