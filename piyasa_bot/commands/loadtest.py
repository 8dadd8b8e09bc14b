"""`loadtest`: the reference load test, measured end to end, with a report and an exit code."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from piyasa_bot.loadtest.options import LoadtestOptions

if TYPE_CHECKING:
    from piyasa_bot.settings import Settings


def runner_count(text: str) -> int:
    """--runners: a whole number of at least one."""
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"a number of runners, 1 or more (not {text!r})")
    return count


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = LoadtestOptions()
    parser.add_argument("--bots", type=int, default=defaults.bots)
    parser.add_argument("--users", type=int, default=defaults.users, help="people: 60%% chat, 20%% mention, 20%% reply")
    parser.add_argument("--duration", type=float, default=defaults.duration, help="seconds of people posting")
    parser.add_argument(
        "--privacy",
        choices=["on", "off", "mixed"],
        default="off",
        help="bots' privacy mode; mixed: 3 listeners with it off, the rest on",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--rate", type=float, default=1.0, help="people post this many times faster")
    parser.add_argument("--fault-429", type=float, default=0.0, metavar="RATE", help="share of sends answered 429")
    parser.add_argument("--fault-5xx", type=float, default=0.0, metavar="RATE", help="share of calls answered 502")
    parser.add_argument("--slow-api", type=int, default=0, metavar="MS", help="delay every Bot API answer")
    parser.add_argument(
        "--db-outage",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="stop PostgreSQL this long, a third of the way in",
    )
    parser.add_argument(
        "--runners",
        type=runner_count,
        default=1,
        metavar="N",
        help="a fleet of N runners on the database shares the bots",
    )
    parser.add_argument("--reports", type=Path, default=Path("reports"), help="folder for the report")


def options_from(args: argparse.Namespace) -> LoadtestOptions:
    return LoadtestOptions(
        bots=args.bots,
        users=args.users,
        duration=args.duration,
        privacy=args.privacy,
        seed=args.seed,
        rate_multiplier=args.rate,
        fault_429=args.fault_429,
        fault_5xx=args.fault_5xx,
        slow_api_ms=args.slow_api,
        db_outage=args.db_outage,
        runners=args.runners,
    )


async def loadtest(settings: Settings, args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    # Imported here: the CLI builds its parser from `add_arguments` and must not pay for the runner.
    from piyasa_bot.db.embedded import EmbeddedPostgres
    from piyasa_bot.loadtest.harness import run_loadtest
    from piyasa_bot.loadtest.measure import measure
    from piyasa_bot.loadtest.report import passed, write_report

    options = options_from(args)
    embedded = None
    if settings.database_url is not None:
        server_dsn = settings.database_url.get_secret_value()
    else:
        embedded = EmbeddedPostgres(settings.data_dir)
        server_dsn = embedded.dsn()
    facts = await run_loadtest(server_dsn, options, out, embedded)
    results = measure(facts)
    path, text = write_report(results, options, args.reports, time.strftime("%Y%m%d-%H%M%S"))
    print(text, file=out)
    print(f"report: {path} (and .json, .svg)", file=out)
    return 0 if passed(results, options) else 1
