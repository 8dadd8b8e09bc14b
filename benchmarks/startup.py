"""Start-up benchmark: from process start to every bot polling, then the cost of idling.

The runner (`python -m piyasa_bot run`) is measured alone: the Bot API
emulator runs in a child process of its own (benchmarks/startup_emulator.py),
PostgreSQL is already running with the schema in place (a fresh, migrated
database per run). "Polling" is the emulator's fact, not a log line: the
moment each bot's first long poll is waiting (`Emulator.wait_polling`); the
figure is the last of those minus the moment the runner's process was started.

    python benchmarks/startup.py ready --bots 50 1000 --repeat 3
    python benchmarks/startup.py ready --bots 1000 --idle 60          # + RSS and CPU of a minute idle
    python benchmarks/startup.py ready --bots 1000 --idle 60 --tls    # the emulator behind a self-signed certificate
    python benchmarks/startup.py ready --bots 50 --tree /tmp/base     # the runner from another checkout
    python benchmarks/startup.py cli                                  # the commands that poll nothing

PostgreSQL: DATABASE_URL, or an embedded one under --data-dir. Every process
started here is stopped at the end, also on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CHAT_ID = -1001000000001
MIB = 1024 * 1024
# The runner, with the emulator's self-signed certificate as the only trusted root (aiogram asks certifi).
TRUSTING_RUNNER = (
    "import certifi, runpy, sys; cert = sys.argv.pop(1); certifi.where = lambda: cert; "
    "runpy.run_module('piyasa_bot', run_name='__main__', alter_sys=True)"
)


# --------------------------------------------------------------------------- one run


def server_dsn(args: argparse.Namespace) -> str:
    if url := os.environ.get("DATABASE_URL"):
        return url
    from piyasa_bot.db.embedded import EmbeddedPostgres

    return EmbeddedPostgres(args.data_dir).dsn()


async def migrated_database(dsn: str) -> tuple[str, str]:
    """A fresh database with the schema in place: the runner's start-up migrates nothing."""
    from benchmarks.lib.database import create_database
    from piyasa_bot.db.migrate import apply_migrations

    name, database = await create_database(dsn)
    conn = await asyncpg.connect(database)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()
    return name, database


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_emulator(bots: int, workdir: Path, tls: bool) -> tuple[subprocess.Popen[bytes], dict[str, Any], Path | None]:
    cmd = [PYTHON, "-m", "benchmarks.startup_emulator", "--bots", str(bots), "--chat-id", str(CHAT_ID)]
    cert = None
    if tls:
        from tests.tls import self_signed_certificate

        cert, key = self_signed_certificate(workdir)
        cmd += ["--cert", str(cert), "--key", str(key)]
    emulator = subprocess.Popen(cmd, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert emulator.stdout is not None
    return emulator, json.loads(emulator.stdout.readline()), cert


def active_hours(night: bool) -> str:
    """Every bot awake (no ranges), or asleep now: one minute twelve hours away, Istanbul time.

    The figures must not depend on the hour they are taken at: with every bot
    asleep the conversation searches for the next opening at start (see BENCHMARKS.md).
    """
    if not night:
        return ""
    istanbul = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=3 + 12)
    return f'"{istanbul:%H:%M}-{istanbul + datetime.timedelta(minutes=1):%H:%M}"'


def start_runner(
    args: argparse.Namespace, world: dict[str, Any], database: str, workdir: Path, cert: Path | None
) -> tuple[subprocess.Popen[bytes], float]:
    """`python -m piyasa_bot run` on a bots.yaml of every emulator bot; returns it and its start time."""
    from piyasa_bot.crypto import generate_key

    config = workdir / "bots.yaml"
    config.write_text(
        f"chats:\n  - id: {CHAT_ID}\n    title: Bench\nbots:\n"
        + "".join(
            f"  - name: {name}\n    token: ${{{name.upper()}_TOKEN}}\n    chats: [{CHAT_ID}]\n"
            f"    persona: {{active_hours: [{active_hours(args.night)}]}}\n"
            for name in world["tokens"]
        )
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIYASA_")}
    env.update(
        {
            "DATABASE_URL": database,
            "PIYASA_CONFIG": str(config),
            "PIYASA_TELEGRAM_API": world["base_url"],
            "PIYASA_SECRET_KEY": generate_key(),
            "PYTHONPATH": str(args.tree),
        }
    )
    env.update({f"{name.upper()}_TOKEN": token for name, token in world["tokens"].items()})
    command = ["-m", "piyasa_bot"] if cert is None else ["-c", TRUSTING_RUNNER, str(cert)]
    log = (workdir / "runner.log").open("wb")
    started = time.time()
    runner = subprocess.Popen(
        [PYTHON, *command, "--log-level", args.log_level, "run"],
        env=env,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return runner, started


async def one_run(args: argparse.Namespace, bots: int, dsn: str) -> dict[str, Any]:
    from benchmarks.lib.database import drop_database  # this file also runs as a script: ROOT is on the path now

    workdir = Path(tempfile.mkdtemp(prefix="piyasa-startup-"))
    emulator = runner = None
    db_name, database = await migrated_database(dsn)
    try:
        emulator, world, cert = start_emulator(bots, workdir, args.tls)
        runner, started = start_runner(args, world, database, workdir, cert)
        result: dict[str, Any] = {"bots": bots, "tls": args.tls, "night": args.night, "tree": str(args.tree)}
        async with aiohttp.ClientSession() as http:
            deadline = started + 60 + bots * 0.05
            while True:
                async with http.get(world["ready_url"]) as response:
                    ready = await response.json()
                if ready["polling"] == bots:
                    break
                if runner.poll() is not None or time.time() > deadline:
                    raise RuntimeError(
                        f"{ready['polling']}/{bots} polling; runner log:\n"
                        + (workdir / "runner.log").read_text()[-3000:]
                    )
                await asyncio.sleep(0.05)
            result["startup_s"] = round(ready["last_at"] - started, 2)
            # CPU the runner used to get there: steadier than wall time on a shared machine.
            result["startup_cpu_s"] = round(sum(psutil.Process(runner.pid).cpu_times()[:2]), 2)
            result["requests"] = ready["stats"]
            if args.idle:
                result.update(await idle(runner.pid, args.idle, args.settle, http, world["ready_url"]))
        return result
    finally:
        stop(runner)
        stop(emulator)
        await drop_database(dsn, db_name)
        shutil.rmtree(workdir, ignore_errors=True)


async def answered_polls(http: aiohttp.ClientSession, ready_url: str) -> int:
    async with http.get(ready_url) as response:
        return int((await response.json())["stats"].get("getUpdates", {}).get("200", 0))


async def idle(pid: int, window: float, settle: float, http: aiohttp.ClientSession, ready_url: str) -> dict[str, Any]:
    """RSS every second and CPU over `window` seconds, once the start-up's work has settled."""
    process = psutil.Process(pid)
    await asyncio.sleep(settle)
    polls0 = await answered_polls(http, ready_url)
    cpu0, t0 = sum(process.cpu_times()[:2]), time.monotonic()
    rss = []
    while time.monotonic() - t0 < window:
        rss.append(process.memory_info().rss)
        await asyncio.sleep(1.0)
    cpu = sum(process.cpu_times()[:2]) - cpu0
    polls = await answered_polls(http, ready_url) - polls0
    return {
        "idle_s": round(time.monotonic() - t0, 1),
        "idle_cpu_pct": round(100 * cpu / (time.monotonic() - t0), 2),
        "idle_polls": polls,
        "cpu_ms_per_poll": round(1000 * cpu / polls, 2) if polls else None,
        "rss_mib_max": round(max(rss) / MIB, 1),
        "rss_mib_end": round(rss[-1] / MIB, 1),
    }


async def ready_runs(args: argparse.Namespace) -> int:
    dsn = server_dsn(args)
    summary = []
    for bots in args.bots:
        runs = []
        for _ in range(args.repeat):
            run = await one_run(args, bots, dsn)
            print(json.dumps(run), flush=True)
            runs.append(run)
        keys = [
            key
            for key in ("startup_s", "startup_cpu_s", "idle_cpu_pct", "idle_polls", "rss_mib_max", "rss_mib_end")
            if key in runs[0]
        ]
        medians: dict[str, Any] = {key: statistics.median(run[key] for run in runs) for key in keys}
        summary.append(
            {
                "bots": bots,
                "tls": args.tls,
                "runs": len(runs),
                **medians,
                "startup_s_all": [run["startup_s"] for run in runs],
            }
        )
    print("medians:")
    for line in summary:
        print(json.dumps(line))
    return 0


# --------------------------------------------------------------------------- the CLI


def cli_times(args: argparse.Namespace) -> int:
    """Wall time of the commands that poll nothing, median of --repeat runs each."""
    from piyasa_bot.crypto import generate_key

    folder = Path(tempfile.mkdtemp(prefix="piyasa-cli-"))  # removed at the end
    invalid = folder / "bots.yaml"
    invalid.write_text(
        f"chats:\n  - id: {CHAT_ID}\nbots:\n  - name: ayse\n    token: ${{AYSE_TOKEN}}\n    chats: [{CHAT_ID}]\n"
    )
    key = generate_key()
    dsn = server_dsn(args)
    cases: list[tuple[str, list[str], dict[str, str], bytes | None]] = [
        ("--help", ["--help"], {}, None),
        ("keygen", ["keygen"], {}, None),
        ("encrypt-token", ["encrypt-token"], {"PIYASA_SECRET_KEY": key}, b"123456:" + b"A" * 35 + b"\n"),
        ("status", ["status"], {"DATABASE_URL": dsn}, None),
        ("check, invalid bots.yaml", ["check"], {"PIYASA_CONFIG": str(invalid), "PIYASA_SECRET_KEY": key}, None),
    ]
    base = {key: value for key, value in os.environ.items() if not key.startswith("PIYASA_") and key != "DATABASE_URL"}
    for name, argv, env, stdin in cases:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run(
                [PYTHON, "-m", "piyasa_bot", *argv],
                env={**base, "PYTHONPATH": str(args.tree), **env},
                check=False,
                input=stdin,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=folder,
            )
            times.append(time.perf_counter() - start)
        print(f"{name}: median {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f})")
    shutil.rmtree(folder, ignore_errors=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    ready = modes.add_parser("ready", help="process start to every bot polling; --idle adds RSS and CPU")
    ready.add_argument("--bots", type=int, nargs="+", default=[50, 1000])
    ready.add_argument("--repeat", type=int, default=3)
    ready.add_argument("--idle", type=float, default=0.0, metavar="SECONDS", help="then measure this long idle")
    ready.add_argument("--settle", type=float, default=5.0, help="seconds between all polling and the idle window")
    ready.add_argument("--tls", action="store_true", help="serve the emulator over TLS (self-signed)")
    ready.add_argument("--night", action="store_true", help="every bot outside its active hours (default: always)")
    ready.add_argument("--log-level", default="WARNING")
    cli = modes.add_parser("cli", help="wall time of --help, keygen, encrypt-token, status, check")
    cli.add_argument("--repeat", type=int, default=5)
    for mode in (ready, cli):
        mode.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose piyasa_bot runs")
        mode.add_argument(
            "--data-dir",
            type=Path,
            default=Path("/tmp/piyasa-startup-pg"),
            help="embedded PostgreSQL when DATABASE_URL is unset",
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.mode == "cli":
        return cli_times(args)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(ready_runs(args))
    return 130


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
