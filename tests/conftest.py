"""Shared fixtures: a real PostgreSQL (embedded, or DATABASE_URL) with a fresh database per test."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from piyasa_bot.db.embedded import EmbeddedPostgres
from piyasa_bot.db.pool import open_pool


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def server_dsn() -> Iterator[str]:
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    with embedded_postgres() as server:
        yield server.dsn()


@contextlib.contextmanager
def pg_scratch_dir() -> Iterator[Path]:
    """A folder for an embedded PostgreSQL outside pytest's tmp tree.

    When run as root, pgserver runs PostgreSQL as another user, who must be
    able to walk the path; pytest makes its own tmp root private (0700).
    """
    folder = Path(tempfile.mkdtemp(prefix="piyasa-pg-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def embedded_postgres() -> Iterator[EmbeddedPostgres]:
    with pg_scratch_dir() as folder:
        server = EmbeddedPostgres(folder, stop_at_exit=True)
        try:
            yield server
        finally:
            with contextlib.suppress(Exception):
                server.stop()


@pytest.fixture
def spare_postgres() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of this test's own, for outage drills."""
    with embedded_postgres() as server:
        yield server


@pytest.fixture
async def dsn(server_dsn: str) -> AsyncIterator[str]:
    """A new, empty database for this test alone."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield with_database(server_dsn, name)
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def pool(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on this test's database, with every migration applied."""
    opened = await open_pool(dsn)
    try:
        yield opened
    finally:
        await opened.close()
