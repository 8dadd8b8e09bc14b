"""The commands as an operator runs them: exit codes, messages, no secrets in the output."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
from pathlib import Path

import asyncpg
import pytest
import structlog

from piyasa_bot.crypto import TokenCipher, generate_key
from piyasa_bot.logs import configure_logging
from tests.helpers import make_world, roster_yaml

pytestmark = pytest.mark.slow


async def piyasa(*args: str, env: dict[str, str], stdin: bytes | None = None) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "piyasa_bot",
        *args,
        env={**os.environ, **env},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(stdin), 60)
    return process.returncode, output.decode()


async def test_check_reports_each_problem_with_its_place_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "bots.yaml"
    config.write_text(
        "chats:\n  - id: -1001234567890\n"
        "bots:\n"
        "  - name: ayse\n    token: ${AYSE_TOKEN}\n    chats: [-1001234567890]\n"
        "  - name: ali\n    token: ${ALI_TOKEN}\n    chats: [-100999]\n    persona: {risk: extreme}\n"
    )
    code, output = await piyasa(
        "check",
        env={"PIYASA_CONFIG": str(config), "PIYASA_SECRET_KEY": generate_key(), "ALI_TOKEN": "123456:" + "A" * 35},
    )
    assert code == 2
    assert "bots[0].token: environment variable AYSE_TOKEN is not set" in output
    assert "bots[1].persona.risk" in output
    assert "bots[1].chats[0]: chat -100999 is not in chats" in output
    assert "A" * 35 not in output


async def test_run_without_a_secret_key_says_how_to_make_one(tmp_path: Path) -> None:
    config = tmp_path / "bots.yaml"
    config.write_text(roster_yaml(["ayse"], -1001234567890))
    env = {"PIYASA_CONFIG": str(config), "AYSE_TOKEN": "123456:" + "B" * 35, "PIYASA_SECRET_KEY": ""}
    code, output = await piyasa("run", env=env)
    assert code == 2
    assert "PIYASA_SECRET_KEY: not set" in output and "keygen" in output


async def test_check_reaches_every_bot_and_names_the_one_rejected(tmp_path: Path) -> None:
    world = await make_world(3)
    world.emulator.revoke("bot001")
    config = tmp_path / "bots.yaml"
    config.write_text(roster_yaml(["bot000", "bot001", "bot002"], world.chat_id))
    env = {
        **world.env,
        "PIYASA_CONFIG": str(config),
        "PIYASA_TELEGRAM_API": world.base_url,
        "PIYASA_SECRET_KEY": generate_key(),
    }
    try:
        code, output = await piyasa("check", env=env)
    finally:
        await world.emulator.stop()
    assert code == 1
    assert "ok    bot000: @bot000_bot" in output
    assert "FAIL  bot001: bots[1].token: the Bot API rejected the token (401 Unauthorized)" in output
    assert "2 of 3 bots reachable" in output
    assert not any(token in output for token in world.env.values())


async def test_encrypt_token_then_rotate_key_keeps_every_stored_token_readable(dsn: str) -> None:
    old, new = generate_key(), generate_key()
    token = "987654:" + "C" * 35
    code, output = await piyasa("encrypt-token", env={"PIYASA_SECRET_KEY": old}, stdin=f"{token}\n".encode())
    encrypted = output.strip().splitlines()[-1]
    assert code == 0 and encrypted.startswith("enc:") and token not in output
    conn = await asyncpg.connect(dsn)
    try:
        await piyasa("migrate", env={"DATABASE_URL": dsn})
        await conn.execute("INSERT INTO bots (name, token_encrypted) VALUES ('ayse', $1)", encrypted)
        code, output = await piyasa("rotate-key", env={"DATABASE_URL": dsn, "PIYASA_SECRET_KEY": f"{new},{old}"})
        stored = await conn.fetchval("SELECT token_encrypted FROM bots WHERE name = 'ayse'")
    finally:
        await conn.close()
    assert code == 0, output
    assert "re-encrypted 1 stored token(s)" in output
    assert TokenCipher.from_setting(new).decrypt(stored) == token


async def test_rotate_key_with_the_wrong_key_changes_nothing(dsn: str) -> None:
    encrypted = TokenCipher.from_setting(generate_key()).encrypt("987654:" + "D" * 35)
    conn = await asyncpg.connect(dsn)
    try:
        await piyasa("migrate", env={"DATABASE_URL": dsn})
        await conn.execute("INSERT INTO bots (name, token_encrypted) VALUES ('ayse', $1)", encrypted)
        code, output = await piyasa("rotate-key", env={"DATABASE_URL": dsn, "PIYASA_SECRET_KEY": generate_key()})
        stored = await conn.fetchval("SELECT token_encrypted FROM bots WHERE name = 'ayse'")
    finally:
        await conn.close()
    assert code == 2
    assert "cannot be decrypted" in output
    assert stored == encrypted


def test_tokens_in_exception_urls_never_reach_the_log() -> None:
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream, cache_loggers=False)
    token = "7000000001:AAH" + "x" * 32
    try:
        raise OSError(f"Cannot connect to host for url http://127.0.0.1:9/bot{token}/getUpdates")
    except OSError as error:
        structlog.get_logger("test").exception("poll failed", error=error, url=f"/bot{token}/getMe")
        logging.getLogger("aiohttp.client").error("request to /bot%s/sendMessage failed", token, exc_info=True)  # noqa: G201
    output = stream.getvalue()
    assert "poll failed" in output and "sendMessage failed" in output
    assert token not in output and "x" * 32 not in output


async def imported_modules(*args: str, env: dict[str, str], stdin: bytes | None = None) -> tuple[int, set[str]]:
    """The exit code of a command and every module it imported (from `python -X importtime`)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-X",
        "importtime",
        "-m",
        "piyasa_bot",
        *args,
        env={**os.environ, **env},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, errors = await asyncio.wait_for(process.communicate(stdin), 60)
    modules = {
        line.rsplit("|", 1)[-1].strip() for line in errors.decode().splitlines() if line.startswith("import time:")
    }
    assert process.returncode is not None
    return process.returncode, modules


async def test_commands_that_poll_nothing_never_import_aiogram(tmp_path: Path, dsn: str) -> None:
    # aiogram's types take seconds to import: `keygen` and friends answer at once without them.
    invalid = tmp_path / "bots.yaml"
    invalid.write_text(roster_yaml(["ayse"], -1001234567890))  # AYSE_TOKEN unset: check stops at validation
    key = generate_key()
    runs = {
        "keygen": await imported_modules("keygen", env={}),
        "--help": await imported_modules("--help", env={}),
        "encrypt-token": await imported_modules(
            "encrypt-token", env={"PIYASA_SECRET_KEY": key}, stdin=b"123456:" + b"E" * 35 + b"\n"
        ),
        "check": await imported_modules("check", env={"PIYASA_CONFIG": str(invalid), "PIYASA_SECRET_KEY": key}),
        "status": await imported_modules("status", env={"PIYASA_DATA_DIR": str(tmp_path / "none")}),
        "console-user": await imported_modules("console-user", "list", env={"DATABASE_URL": dsn}),
    }
    assert {name: code for name, (code, _) in runs.items()} == {
        "keygen": 0,
        "--help": 0,
        "encrypt-token": 0,
        "check": 2,
        "status": 3,
        "console-user": 0,
    }
    for name, (_, modules) in runs.items():
        assert "piyasa_bot.cli" in modules, name  # the measure itself works
        assert not {m for m in modules if m.split(".")[0] == "aiogram"}, f"{name} imported aiogram"
    # keygen needs only the key generator: not even the settings, the database driver or logging.
    assert not runs["keygen"][1] & {"pydantic", "asyncpg", "structlog", "aiohttp"}


async def test_a_malformed_setting_names_the_variable_never_its_value_and_exits_2() -> None:
    secret_looking = "123456:" + "F" * 35
    code, output = await piyasa("status", env={"PIYASA_METRICS_PORT": secret_looking, "PIYASA_LLM_TIMEOUT": "-1"})
    assert code == 2
    assert output.splitlines() == [
        "the environment: 2 problem(s), nothing started:",
        "  PIYASA_METRICS_PORT: Input should be a valid integer, unable to parse string as an integer",
        "  PIYASA_LLM_TIMEOUT: Input should be greater than 0",
    ]
    assert secret_looking not in output and "F" * 35 not in output
