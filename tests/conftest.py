"""Shared fixtures: a real PostgreSQL (embedded, or DATABASE_URL) with a fresh database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from piyasa_bot.db.embedded import start_embedded


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def server_dsn(tmp_path_factory: pytest.TempPathFactory) -> str:
    if url := os.environ.get("DATABASE_URL"):
        return url
    return start_embedded(tmp_path_factory.mktemp("pgdata"), stop_at_exit=True)


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
