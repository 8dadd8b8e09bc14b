"""Command line: `python -m piyasa_bot <command>` (also the `piyasa-bot` script).

The sync entry owns the event loop; commands are plain async functions.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from piyasa_bot.commands.loadtest import add_arguments as add_loadtest_arguments
from piyasa_bot.commands.loadtest import runner_count
from piyasa_bot.console.viewer import Role

if TYPE_CHECKING:
    from piyasa_bot.settings import Settings

# Every module is imported by the command that needs it, so that a command
# answers in the time its own work takes: `--help` and `keygen` import neither
# pydantic nor asyncpg, and only the commands that talk to Telegram import
# aiogram (whose types alone take seconds to import).

CONFIG_INVALID = 2
# Commands whose own output is the point: logging says only what went wrong.
QUIET_COMMANDS = ("simulate", "loadtest")
# Commands that write no log line: no logging to configure.
SILENT_COMMANDS = ("keygen", "encrypt-token")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="piyasa-bot", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--log-level",
        default=None,
        help="DEBUG, INFO, WARNING (default INFO; WARNING for simulate and loadtest, whose own output is the point)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="long-poll every bot of bots.yaml and record every message")
    commands.add_parser("check", help="validate bots.yaml and the environment, reach each bot with getMe")
    commands.add_parser("migrate", help="apply the SQL migrations in sql/")
    commands.add_parser("keygen", help="print a new Fernet key for PIYASA_SECRET_KEY")
    commands.add_parser("encrypt-token", help="read a token on stdin, print the enc: value for bots.yaml")
    commands.add_parser("rotate-key", help="re-encrypt every stored token with the newest key")
    status = commands.add_parser("status", help="per bot and chat: state, the last hour's traffic, backlog, failures")
    status.add_argument("--json", action="store_true", help="one JSON object instead of tables")
    simulate = commands.add_parser("simulate", help="the whole system against the local Bot API emulator")
    simulate.add_argument("--duration", type=float, default=60.0, help="seconds of simulated people (default 60)")
    simulate.add_argument("--people", type=int, default=12, help="simulated people (default 12)")
    simulate.add_argument("--rate", type=float, default=4.0, help="speed-up of the people's pace (default 4)")
    simulate.add_argument("--pace", type=float, default=10.0, help="speed-up of the bots' pace (default 10)")
    simulate.add_argument("--seed", type=int, default=1)
    simulate.add_argument("--quiet", action="store_true", help="counts only, not the chat itself")
    simulate.add_argument(
        "--runners",
        type=runner_count,
        default=1,
        metavar="N",
        help="a fleet of N runners on the database shares the bots",
    )
    simulate.add_argument(
        "--console", type=int, metavar="PORT", help="serve the operator's console on 127.0.0.1:PORT meanwhile (0: any)"
    )
    add_loadtest_arguments(
        commands.add_parser("loadtest", help="the reference load test: 50 bots, 100 people, 5 minutes")
    )
    add_console_user_arguments(
        commands.add_parser("console-user", help="add, remove or list who may sign in to the web console")
    )
    return parser


def add_console_user_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a user, or replace the password and role of one")
    add.add_argument("name", metavar="NAME")
    add.add_argument(
        "--role", required=True, choices=[role.value for role in Role], help="viewer reads, operator steers"
    )
    add.add_argument("--password-stdin", action="store_true", help="read the password from one line of standard input")
    actions.add_parser("remove", help="remove a user; their sessions end").add_argument("name", metavar="NAME")
    actions.add_parser("list", help="names, roles and when each was added (never a password or its hash)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "keygen":  # needs neither the settings nor logging
        from piyasa_bot.commands.keys import keygen

        return keygen()
    if args.command not in SILENT_COMMANDS:
        from piyasa_bot.logs import configure_logging

        configure_logging(args.log_level or ("WARNING" if args.command in QUIET_COMMANDS else "INFO"))
    from piyasa_bot.crypto import SecretKeyError
    from piyasa_bot.settings import SettingsError, read_settings

    try:
        settings = read_settings()
    except SettingsError as error:
        _print_problems("the environment", error.problems)
        return CONFIG_INVALID
    from piyasa_bot.bootstrap import ConfigError

    try:
        return dispatch(args, settings)
    except ConfigError as error:
        _print_problems(str(settings.config), [str(problem) for problem in error.problems])
        return CONFIG_INVALID
    except SecretKeyError as error:
        print(f"error: {_redact(str(error))}", file=sys.stderr)
        return CONFIG_INVALID
    except OSError as error:  # e.g. PIYASA_METRICS_PORT taken, the database refusing connections
        print(f"error: {_redact(str(error))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _print_problems(source: str, problems: Sequence[str]) -> None:
    print(f"{source}: {len(problems)} problem(s), nothing started:", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)


def _redact(text: str) -> str:
    from piyasa_bot.logs import redact

    return redact(text)


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from piyasa_bot.bootstrap import prepare

    match args.command:
        case "run":
            prepared = prepare(settings)
            from piyasa_bot.commands import run

            return asyncio.run(run.run(settings, prepared))
        case "check":
            prepared = prepare(settings)  # the validation half: no aiogram until it passes
            from piyasa_bot.commands import check

            return asyncio.run(check.reach_bots(settings, prepared))
        case "migrate":
            from piyasa_bot.commands import run

            return asyncio.run(run.migrate(settings))
        case "encrypt-token":
            from piyasa_bot.commands import keys

            return keys.encrypt_token(settings)
        case "rotate-key":
            from piyasa_bot.commands import keys

            return asyncio.run(keys.rotate_key(settings))
        case "simulate":
            from piyasa_bot.commands import simulate

            return asyncio.run(simulate.simulate(settings, args))
        case "status":
            from piyasa_bot.commands import status

            return asyncio.run(status.status(settings, args))
        case "loadtest":
            from piyasa_bot.commands import loadtest

            return asyncio.run(loadtest.loadtest(settings, args))
        case "console-user":
            from piyasa_bot.commands import console_user

            return asyncio.run(console_user.console_user(settings, args))
    raise AssertionError(args.command)
