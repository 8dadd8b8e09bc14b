"""`run` with its console beyond 127.0.0.1: refused in a sentence without an operator account, served with one."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest

from piyasa_bot.crypto import generate_key
from tests.helpers import RunnerProcess, World, make_world, roster_yaml
from tests.test_cli import piyasa

pytestmark = pytest.mark.slow

EVERYWHERE = {"PIYASA_CONSOLE_HOST": "0.0.0.0", "PIYASA_CONSOLE_PORT": "0"}  # every address: the case under test


@pytest.fixture
async def world() -> AsyncIterator[World]:
    world = await make_world(2)
    yield world
    await world.emulator.stop()


def with_password(dsn: str) -> tuple[str, str | None]:
    """The DSN with a password in it, and the password, for a test that it is never printed.

    The embedded server trusts local connections: any password will do. A DATABASE_URL without
    one may rely on .pgpass or peer authentication, so it is left as it is (None: nothing to look for).
    """
    parts = urlsplit(dsn)
    if parts.password or os.environ.get("DATABASE_URL"):
        return dsn, parts.password
    password = "dsn-pass-" + generate_key()[:12]
    server = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or 'postgres'}:{password}@{server}")), password


async def test_a_console_beyond_this_machine_without_an_operator_ends_run_with_1_naming_the_address_and_the_fix(
    world: World, dsn: str, tmp_path: Path
) -> None:
    config = tmp_path / "bots.yaml"
    config.write_text(roster_yaml([bot.name for bot in world.loaded.roster.bots], world.chat_id))
    dsn, password = with_password(dsn)
    secret_key = generate_key()
    env = {
        **world.env,
        **EVERYWHERE,
        "DATABASE_URL": dsn,
        "PIYASA_CONFIG": str(config),
        "PIYASA_TELEGRAM_API": world.base_url,
        "PIYASA_SECRET_KEY": secret_key,
    }
    started = time.monotonic()
    code, output = await piyasa("run", env=env)
    assert code == 1, output
    assert time.monotonic() - started < 30, "the refusal must not wait for anything"
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, output
    assert "0.0.0.0" in errors[0] and "python -m piyasa_bot console-user add NAME --role operator" in errors[0]
    assert "Traceback" not in output
    secrets = [*world.env.values(), secret_key, *([password] if password else [])]
    assert not [secret for secret in secrets if secret in output]


async def test_with_an_operator_account_the_console_on_every_address_serves_its_sign_in_and_sigterm_exits_0(
    world: World, dsn: str, tmp_path: Path
) -> None:
    added, output = await piyasa(
        "console-user",
        "add",
        "ayse",
        "--role",
        "operator",
        "--password-stdin",
        env={"DATABASE_URL": dsn},
        stdin=b"correct horse battery\n",
    )
    assert added == 0, output
    config = tmp_path / "bots.yaml"
    config.write_text(roster_yaml([bot.name for bot in world.loaded.roster.bots], world.chat_id))
    runner = RunnerProcess(world, dsn, config)
    runner.env.update(EVERYWHERE)
    await runner.start()
    try:
        await runner.wait_for("console.listening")
        url = urlsplit(runner.events("console.listening")[0]["url"])
        assert url.hostname == "0.0.0.0" and url.port  # a port was chosen
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{url.port}") as http:
            async with http.get("/", allow_redirects=False) as page:
                assert page.status == 303 and page.headers["Location"] == "/login"  # an account: sign in first
            async with http.get("/login") as login:
                assert login.status == 200 and 'name="password"' in await login.text()
    finally:
        runner.signal(signal.SIGTERM)
        code = await runner.finish()
    assert code == 0
