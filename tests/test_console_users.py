"""The console's accounts: the queries, the password hashes, the login limit, the cookie secret, `console-user`."""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys

import asyncpg
import pytest
from pydantic import SecretStr

from piyasa_bot.commands.console_user import console_user as console_user_command
from piyasa_bot.console.login_limit import LoginLimit, address_key, minutes, name_key
from piyasa_bot.console.passwords import hash_password, needs_rehash, password_problem, verify_password
from piyasa_bot.console.refused import ConsoleRefused
from piyasa_bot.console.sessions import console_secret
from piyasa_bot.console.viewer import Role
from piyasa_bot.crypto import generate_key
from piyasa_bot.db import console_users
from piyasa_bot.settings import Settings

PASSWORD = "correct horse battery"


async def test_users_are_added_replaced_listed_and_removed_and_listings_carry_no_hash(pool: asyncpg.Pool) -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD + "!")
    assert await console_users.put_user(pool, "ayse", Role.VIEWER, first) is True
    assert await console_users.put_user(pool, "omer", Role.VIEWER, first) is True
    assert await console_users.count_operators(pool) == 0
    assert await console_users.put_user(pool, "ayse", Role.OPERATOR, second) is False  # replaced
    listed = await console_users.list_users(pool)
    stored = await console_users.credentials(pool, "ayse")
    assert [(user.name, user.role) for user in listed] == [("ayse", Role.OPERATOR), ("omer", Role.VIEWER)]
    assert listed[0].updated_at > listed[0].created_at  # replacing moves updated_at: the old sessions end
    assert "$argon2" not in repr(listed)
    assert stored is not None and stored.password_hash == second and second not in repr(stored)
    assert await console_users.count_operators(pool) == 1
    assert await console_users.remove_user(pool, "ayse") is True
    assert await console_users.remove_user(pool, "ayse") is False
    assert await console_users.credentials(pool, "ayse") is None
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("INSERT INTO console_users (name, role, password_hash) VALUES ('x', 'admin', 'h')")


def test_a_password_verifies_and_a_malformed_hash_is_a_refusal_not_an_error() -> None:
    stored = hash_password(PASSWORD)
    assert verify_password(stored, PASSWORD) and not verify_password(stored, PASSWORD + " ")
    malformed = ["", "plain text", "$argon2id$v=19$m=65536,t=3,p=4$bad$bad", "$2b$12$" + "x" * 53, stored[:-5]]
    assert [verify_password(value, PASSWORD) for value in malformed] == [False] * len(malformed)
    assert all(needs_rehash(value) in (True, False) for value in malformed)  # asked after a match only: never raises
    assert not needs_rehash(stored)
    assert password_problem("") == "the password is empty"
    assert password_problem("123456789") == "the password is shorter than 10 characters"
    assert password_problem("1234567890") is None
    assert console_users.name_problem("ayse.k@desk-2") is None
    assert (
        console_users.name_problem("ay|se")
        == console_users.name_problem("")
        == ("a console user's name is 1 to 64 letters, digits or . _ - @")
    )


def test_failed_sign_ins_are_limited_per_address_and_per_name_for_ten_minutes_in_bounded_memory() -> None:
    now = [1000.0]
    limit = LoginLimit(clock=lambda: now[0], max_keys=100)
    for n in range(5):
        assert limit.retry_after(address_key("10.0.0.1"), name_key("ayse")) is None
        limit.failed(address_key(f"10.0.0.{n + 1}"), name_key("Ayse"))  # five addresses, one name
        now[0] += 60
    assert limit.retry_after(address_key("10.0.0.9"), name_key("ayse")) == pytest.approx(300)  # the name is held
    assert limit.retry_after(address_key("10.0.0.9"), name_key("omer")) is None  # another name is not
    assert minutes(300) == 5 and minutes(1) == 1
    now[0] += 300
    assert limit.retry_after(address_key("10.0.0.9"), name_key("ayse")) is None  # the first failure aged out
    for n in range(1000):  # a flood of names from as many addresses
        limit.failed(address_key(f"10.1.{n // 250}.{n % 250}"), name_key(f"guess{n}"))
    assert limit.tracked <= 100


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_the_cookie_secret_comes_from_the_console_secret_else_the_secret_key_else_the_process() -> None:
    key, other = generate_key(), generate_key()
    configured = console_secret(settings(console_secret=SecretStr("a" * 32), secret_key=SecretStr(key)))
    derived = console_secret(settings(secret_key=SecretStr(f"{key},{other}")))
    assert configured == b"a" * 32
    assert derived == console_secret(settings(secret_key=SecretStr(key))) != console_secret(settings(secret_key=other))
    assert len(derived) == 32 and key.encode() not in derived
    ephemeral = console_secret(settings(secret_key=None))
    assert len(ephemeral) == 32 and ephemeral == console_secret(settings(secret_key=None)) != derived
    with pytest.raises(ConsoleRefused, match="PIYASA_CONSOLE_SECRET is shorter than 16 characters"):
        console_secret(settings(console_secret=SecretStr("short")))


async def console_user(*args: str, dsn: str, stdin: str = "") -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "piyasa_bot",
        "console-user",
        *args,
        env={**os.environ, "DATABASE_URL": dsn},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(stdin.encode()), 60)
    assert process.returncode is not None
    return process.returncode, output.decode()


@pytest.mark.slow
async def test_console_user_adds_lists_and_removes_and_never_shows_a_password_or_hash(dsn: str) -> None:
    added = await console_user("add", "ayse", "--role", "operator", "--password-stdin", dsn=dsn, stdin=f"{PASSWORD}\n")
    short = await console_user("add", "omer", "--role", "viewer", "--password-stdin", dsn=dsn, stdin="too short\n")
    no_terminal = await console_user("add", "omer", "--role", "viewer", dsn=dsn, stdin=f"{PASSWORD}\n")
    listed = await console_user("list", dsn=dsn)
    conn = await asyncpg.connect(dsn)
    try:
        stored = await console_users.credentials(conn, "ayse")
    finally:
        await conn.close()
    removed = await console_user("remove", "ayse", dsn=dsn)
    again = await console_user("remove", "ayse", dsn=dsn)
    empty_list = await console_user("list", dsn=dsn)

    assert added == (0, "console user ayse added: operator\n")
    assert short == (2, "error: the password is shorter than 10 characters; nothing changed\n")
    assert no_terminal[0] == 2 and "--password-stdin" in no_terminal[1]
    assert listed[0] == 0
    assert listed[1].splitlines()[0].split() == ["name", "role", "added"]
    assert listed[1].splitlines()[1].split()[:2] == ["ayse", "operator"] and len(listed[1].splitlines()) == 2
    assert stored is not None and verify_password(stored.password_hash, PASSWORD)
    assert removed[0] == 0 and removed[1].startswith("console user ayse removed\n")
    assert "note: no operator is left" in removed[1]
    assert again == (1, "error: there is no console user named ayse\n")
    assert empty_list == (
        0,
        "no console users yet; add one with `python -m piyasa_bot console-user add NAME --role operator`\n",
    )
    everything = "".join(output for _, output in (added, short, no_terminal, listed, removed))
    assert PASSWORD not in everything and "too short" not in everything and "$argon2" not in everything


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_console_user_asks_twice_on_a_terminal_and_changes_nothing_when_the_two_differ(
    capsys: pytest.CaptureFixture[str],
) -> None:
    answers = iter([PASSWORD, PASSWORD + "?"])
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    args = argparse.Namespace(action="add", name="ayse", role="operator", password_stdin=False)
    code = await console_user_command(settings(), args, stdin=Terminal(), ask=ask)
    assert code == 2
    assert prompts == ["password for ayse (at least 10 characters): ", "the same password again: "]
    assert capsys.readouterr().err == "error: the two passwords differ; nothing changed\n"


async def test_console_user_says_the_database_is_unreachable_without_its_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    unreachable = settings(database_url=SecretStr("postgresql://piyasa:hunter2-secret@127.0.0.1:1/piyasa"))
    code = await console_user_command(unreachable, argparse.Namespace(action="list"), stdin=Terminal())
    error = capsys.readouterr().err
    assert code == 1 and error.startswith("error: cannot reach the database: ")
    assert "hunter2-secret" not in error
