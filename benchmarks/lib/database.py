"""A PostgreSQL server for a benchmark session, and a fresh database per run on it.

The server is DATABASE_URL's, or an embedded PostgreSQL (pgserver) in a new
folder under /tmp, stopped and removed at the end. Each run gets a database of
its own, created by piyasa_bot.db.pool.fresh_database and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg


class DatabaseServer:
    """The PostgreSQL server: embedded (started here, stopped at the end) or DATABASE_URL."""

    def __init__(self, prefix: str = "piyasa-bench-pg-") -> None:
        self.prefix = prefix
        self.folder: Path | None = None
        self.server: Any = None
        self.dsn = ""
        self.external = False

    def start(self) -> str:
        if url := os.environ.get("DATABASE_URL"):
            self.dsn, self.external = url, True
            return url
        from piyasa_bot.db.embedded import EmbeddedPostgres

        # Under /tmp, not a private pytest dir: pgserver runs PostgreSQL as another
        # user when started by root, and that user must be able to walk the path.
        self.folder = Path(tempfile.mkdtemp(prefix=self.prefix, dir="/tmp"))
        os.chmod(self.folder, 0o755)
        self.server = EmbeddedPostgres(self.folder, stop_at_exit=True)
        self.dsn = self.server.dsn()
        return self.dsn

    def postmaster_pid(self) -> int | None:
        """The embedded server's main process (None for DATABASE_URL): its CPU is PostgreSQL's."""
        if self.folder is None:
            return None
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.folder / "pg" / "postmaster.pid").read_text().splitlines()[0])
        return None

    def version(self) -> str:
        async def ask() -> str:
            conn = await asyncpg.connect(self.dsn)
            try:
                return str(await conn.fetchval("SHOW server_version"))
            finally:
                await conn.close()

        return asyncio.run(ask())

    def stop(self) -> None:
        if self.server is not None:
            with contextlib.suppress(Exception):
                self.server.stop()
            self.server = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


@contextlib.contextmanager
def database_server(prefix: str = "piyasa-bench-pg-") -> Iterator[str]:
    """A server's DSN for the length of the block."""
    server = DatabaseServer(prefix)
    try:
        yield server.start()
    finally:
        server.stop()


async def create_database(server_dsn: str) -> tuple[str, str]:
    """A new, empty database with a unique name: (name, DSN)."""
    from piyasa_bot.db.pool import fresh_database

    name = f"bench_{uuid.uuid4().hex[:12]}"
    return name, await fresh_database(server_dsn, name)


async def drop_database(server_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def scratch_database(server_dsn: str) -> AsyncIterator[str]:
    """A new, empty database on that server for the block, dropped at the end."""
    name, dsn = await create_database(server_dsn)
    try:
        yield dsn
    finally:
        await drop_database(server_dsn, name)


@contextlib.asynccontextmanager
async def session_database(prefix: str = "piyasa-bench-pg-") -> AsyncIterator[str]:
    """A scratch database for the block, on DATABASE_URL's server or an embedded one started for it."""
    with database_server(prefix) as server_dsn:
        async with scratch_database(server_dsn) as dsn:
            yield dsn
