"""`console-user add|remove|list`: who may sign in to the web console.

The password is asked twice on the terminal, or read from one line of
standard input with --password-stdin (for scripts); it never travels in
argv, where `ps` would show it. Only its argon2 hash is stored, and no
listing shows even that. Connects like `migrate`, and migrates first.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import TextIO
from urllib.parse import urlsplit

import asyncpg

from piyasa_bot.bootstrap import database_dsn
from piyasa_bot.console.passwords import MIN_LENGTH, hash_password, password_problem
from piyasa_bot.console.viewer import Role
from piyasa_bot.db import console_users
from piyasa_bot.db.migrate import apply_migrations
from piyasa_bot.db.retry import DATABASE_ERRORS
from piyasa_bot.redaction import redact
from piyasa_bot.settings import Settings

FAILED = 1
INVALID = 2
ADD_OPERATOR = "python -m piyasa_bot console-user add NAME --role operator"


class Refused(Exception):
    """Input the command cannot use: exit 2 with this sentence."""


async def console_user(
    settings: Settings,
    args: argparse.Namespace,
    *,
    stdin: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
    ask: Callable[[str], str] = getpass.getpass,
) -> int:
    try:
        password_hash = _new_password_hash(args, stdin, ask) if args.action == "add" else None
    except Refused as problem:
        print(f"error: {problem}", file=sys.stderr)
        return INVALID
    try:
        dsn = database_dsn(settings)
    except Exception as error:  # noqa: BLE001 - pgserver failing to start: say so, no traceback
        print(
            f"error: cannot start the embedded PostgreSQL under {settings.data_dir}: {_describe(error)}",
            file=sys.stderr,
        )
        return FAILED
    try:
        conn = await asyncpg.connect(dsn, timeout=10)
    except DATABASE_ERRORS as error:
        print(f"error: cannot reach the database: {_describe(error, urlsplit(dsn).password)}", file=sys.stderr)
        return FAILED
    try:
        await apply_migrations(conn)
        return await _act(conn, args, password_hash, out)
    except DATABASE_ERRORS as error:
        print(f"error: the database failed to answer: {_describe(error, urlsplit(dsn).password)}", file=sys.stderr)
        return FAILED
    finally:
        await conn.close()


async def _act(conn: asyncpg.Connection, args: argparse.Namespace, password_hash: str | None, out: TextIO) -> int:
    if args.action == "add":
        assert password_hash is not None
        role = Role(args.role)
        created = await console_users.put_user(conn, args.name, role, password_hash)
        change = "added" if created else "replaced (new password and role; their sessions end)"
        print(f"console user {args.name} {change}: {role.value}", file=out)
        return 0
    if args.action == "remove":
        if not await console_users.remove_user(conn, args.name):
            print(f"error: there is no console user named {args.name}", file=sys.stderr)
            return FAILED
        print(f"console user {args.name} removed", file=out)
        if await console_users.count_operators(conn) == 0:
            print(f"note: no operator is left; a console beyond 127.0.0.1 will not start: `{ADD_OPERATOR}`", file=out)
        return 0
    users = await console_users.list_users(conn)
    if not users:
        print(f"no console users yet; add one with `{ADD_OPERATOR}`", file=out)
        return 0
    width = max(len("name"), *(len(user.name) for user in users))
    print(f"{'name':<{width}}  role      added", file=out)
    for user in users:
        print(f"{user.name:<{width}}  {user.role.value:<8}  {user.created_at:%Y-%m-%d %H:%M:%S %Z}", file=out)
    return 0


def _new_password_hash(args: argparse.Namespace, stdin: TextIO, ask: Callable[[str], str]) -> str:
    if problem := console_users.name_problem(args.name):
        raise Refused(f"{args.name!r}: {problem}")
    if args.password_stdin:
        password = stdin.readline().removesuffix("\n").removesuffix("\r")
    elif not stdin.isatty():
        raise Refused("no terminal to ask the password on: give it on standard input with --password-stdin")
    else:
        password = ask(f"password for {args.name} (at least {MIN_LENGTH} characters): ")
        if (problem := password_problem(password)) is None and ask("the same password again: ") != password:
            raise Refused("the two passwords differ; nothing changed")
    if problem := password_problem(password):
        raise Refused(f"{problem}; nothing changed")
    return hash_password(password)


def _describe(error: BaseException, password: str | None = None) -> str:
    text = f"{type(error).__name__}: {error}"
    if password:
        text = text.replace(password, "<secret>")
    return redact(text)
