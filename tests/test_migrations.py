import asyncio
from pathlib import Path

import asyncpg
import pytest

from piyasa_bot.db.migrate import MigrationError, apply_migrations

NAMED_INDEXES = {
    "ix_messages_bot_created_at",
    "ix_messages_chat_created_at",
    "ix_messages_chat_telegram_msg",
    "ix_messages_reply_lookup",
    "ix_messages_incoming",
}


async def test_migrations_create_the_tables_and_the_reference_indexes(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        applied = await apply_migrations(conn)
        tables = {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
        indexes = {
            r["indexname"] for r in await conn.fetch("SELECT indexname FROM pg_indexes WHERE tablename='messages'")
        }
        partial = await conn.fetchval("SELECT indexdef FROM pg_indexes WHERE indexname='ix_messages_incoming'")
    finally:
        await conn.close()
    assert [m.version for m in applied] == sorted(m.version for m in applied) and applied
    assert {"bots", "chats", "messages", "schema_migrations"} <= tables
    assert indexes >= NAMED_INDEXES
    assert "WHERE is_incoming" in partial


async def test_a_second_run_applies_nothing_and_concurrent_runs_do_not_collide(dsn: str) -> None:
    conns = [await asyncpg.connect(dsn) for _ in range(3)]
    try:
        results = await asyncio.gather(*(apply_migrations(c) for c in conns))
        again = await apply_migrations(conns[0])
        ledger = await conns[0].fetchval("SELECT count(*) FROM schema_migrations")
    finally:
        for conn in conns:
            await conn.close()
    assert sum(len(r) for r in results) == ledger  # each migration applied exactly once
    assert again == []


async def test_a_failing_migration_leaves_the_schema_untouched(dsn: str, tmp_path: Path) -> None:
    (tmp_path / "0001_good.sql").write_text("CREATE TABLE a (id int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE b (id int); SELECT no_such_function();")
    conn = await asyncpg.connect(dsn)
    try:
        with pytest.raises(MigrationError, match="0002_bad.sql"):
            await apply_migrations(conn, tmp_path)
        tables = {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
    finally:
        await conn.close()
    assert tables == set()


async def test_a_badly_named_migration_is_refused(dsn: str, tmp_path: Path) -> None:
    (tmp_path / "init.sql").write_text("SELECT 1;")
    conn = await asyncpg.connect(dsn)
    try:
        with pytest.raises(MigrationError, match="NNNN_name.sql"):
            await apply_migrations(conn, tmp_path)
    finally:
        await conn.close()
