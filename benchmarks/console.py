"""Console: issue 12's figures, the cost of an open page to an idle runner and the live view's latency.

    python -m benchmarks.console                                         # 50 bots, 60 s windows x 2, 30 messages
    python -m benchmarks.console --bots 3 --idle 5 --repeat 1 --messages 5 --out /tmp/console   # a smoke run

Processes: PostgreSQL (embedded pgserver, or DATABASE_URL), the Bot API
emulator (`python -m piyasa_bot.sandbox`) and the runner (`python -m piyasa_bot
run`, as an operator starts it, its console on 127.0.0.1 with no account: the
local operator is let in). The bots are privacy-off members of one supergroup
whose pace is 0, so nothing is said while idle; no person posts until (b).

(a) Idle cost: once every bot polls and the runner is quiet, the runner's CPU
seconds (psutil: user + system) over `--idle` s with no page open (A), then
with a chat page open and its live stream read continuously (B), A/B/A/B...
`--repeat` times, `--settle` s before each window (more than the stream's 15 s
keepalive: a closed page's stream notices the closed connection only when it
next writes). Goal: B - A under 1 % of a core.

(b) Live latency: with the page open, `--messages` people's messages are posted
one at a time through the emulator's control API (/control/post), each after a
random pause so that the posts fall anywhere in the stream's look-up cycle. For
each: stored (messages.created_at, PostgreSQL's clock_timestamp() less the
measured offset to this process's clock) to the event's arrival here, and
posted (the emulator's available_at) to the event. Goal: every message within
1 s of being stored.

Last, the runner is stopped (SIGTERM) with the stream open: does the console
end it, and does the stop stay clean? Results: benchmarks/results/console/
*.json and *.md; exit 0 only when both goals hold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import yaml

from benchmarks.console_live import LiveStream, clock_offset
from benchmarks.console_report import figures, markdown
from benchmarks.lib.database import DatabaseServer, create_database, drop_database
from benchmarks.lib.emulator import Control, start_emulator
from benchmarks.lib.machine import machine_info
from benchmarks.lib.processes import Processes, cpu_seconds, tail, wait_quiet
from benchmarks.lib.results import write_results
from benchmarks.lib.snapshot import Snapshot
from benchmarks.lib.workdir import work_folder

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "console"
CHAT_ID = -1001000000012
PERSON = 4212


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def quiet_roster(config: Path) -> None:
    """The chat's pace to 0: no chatter, so the runner idles (answers to people would still go out)."""
    roster = yaml.safe_load(config.read_text(encoding="utf-8"))
    for chat in roster["chats"]:
        chat["pace"] = 0
    config.write_text(yaml.safe_dump(roster, sort_keys=False), encoding="utf-8")


async def window(
    pid: int, postgres_pid: int | None, conn: asyncpg.Connection, seconds: float, *, alive: Callable[[], bool]
) -> dict[str, Any]:
    """CPU of the runner (and of PostgreSQL, when embedded) and the database's commits over `seconds`."""
    commits = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
    runner0, pg0, commits0 = cpu_seconds(pid), cpu_seconds(postgres_pid), await conn.fetchval(commits)
    started = time.monotonic()
    await asyncio.sleep(seconds)
    if not alive():
        raise RuntimeError("the runner exited during an idle window")
    runner1, pg1, commits1 = cpu_seconds(pid), cpu_seconds(postgres_pid), await conn.fetchval(commits)
    span = time.monotonic() - started
    assert runner0 is not None and runner1 is not None
    return {
        "seconds": round(span, 2),
        "runner_cpu_s": round(runner1 - runner0, 3),
        "runner_cpu_pct": round(100 * (runner1 - runner0) / span, 3),
        "postgres_cpu_pct": None if pg0 is None or pg1 is None else round(100 * (pg1 - pg0) / span, 3),
        # pg_stat_database lags by up to a few seconds (backends report when idle): roughly the query rate.
        "db_commits_per_s": round((commits1 - commits0) / span, 2),
    }


async def idle_cost(
    args: argparse.Namespace,
    http: aiohttp.ClientSession,
    runner_pid: int,
    postgres_pid: int | None,
    conn: asyncpg.Connection,
    alive: Callable[[], bool],
) -> tuple[list[dict[str, Any]], list[float]]:
    """A (no page) and B (a chat page open, its stream read), interleaved `--repeat` times."""
    windows, page_ms = [], []
    for round_ in range(1, args.repeat + 1):
        for page in ("closed", "open"):
            await asyncio.sleep(args.settle)
            stream = None
            if page == "open":
                stream = LiveStream(http, CHAT_ID)
                await stream.open()
                page_ms.append(round(stream.page_s * 1000, 1))
                await asyncio.sleep(1.0)  # the page's own requests are done: its steady state is measured
            measured = await window(runner_pid, postgres_pid, conn, args.idle, alive=alive)
            if stream is not None:
                measured.update(events=len(stream.events), keepalives=stream.keepalives)
                await stream.close()
            windows.append({"round": round_, "page": page, **measured})
            print(f"  idle round {round_}, page {page}: {json.dumps(measured)}", file=sys.stderr, flush=True)
    return windows, page_ms


async def live_latency(
    args: argparse.Namespace, stream: LiveStream, control: Control, conn: asyncpg.Connection, offset: float
) -> list[dict[str, Any]]:
    """People's messages one at a time: when each was posted, stored and shown."""
    rng, nonce = random.Random(args.seed), os.urandom(4).hex()
    samples = []
    for i in range(args.messages):
        await asyncio.sleep(rng.uniform(0.2, 1.2))  # anywhere in the stream's look-up cycle
        text = f"console bench {nonce} {i:04d}"
        posted = await control.call(
            "POST", "/control/post", {"chat_id": CHAT_ID, "user_id": PERSON, "text": text, "first_name": "Deniz"}
        )
        event = await stream.wait_for(text, args.event_timeout)
        samples.append(
            {
                "i": i,
                "text": text,
                "posted_at": posted["available_at"],
                "event_at": event and event.at,
                "event_id": event and event.id,
            }
        )
    rows = await conn.fetch(
        "SELECT id, text, extract(epoch FROM created_at)::float8 AS at FROM messages "
        "WHERE chat_id = $1 AND is_incoming AND text = ANY($2::text[])",
        CHAT_ID,
        [s["text"] for s in samples],
    )
    stored = {row["text"]: row for row in rows}
    for s in samples:
        row = stored.get(s["text"])
        s["id"] = row["id"] if row else None
        s["stored_at"] = row["at"] - offset if row else None  # on this process's clock
    return samples


async def start_runner(
    args: argparse.Namespace, workdir: Path, procs: Processes, control: Control, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], int]:
    """The roster (pace 0) in the emulator and bots.yaml, the runner with its console: (process, console port)."""
    from piyasa_bot.crypto import generate_key

    config = workdir / "bots.yaml"
    names = [f"c{i:03d}" for i in range(args.bots)]
    bots_env = await control.supergroup_roster(
        names, CHAT_ID, "Console", privacy=False, username_suffix="console_bot", config=config
    )
    quiet_roster(config)
    port = free_port()
    env = {
        **env,
        "PIYASA_SECRET_KEY": generate_key(),
        "PIYASA_DATA_DIR": str(workdir / "data"),
        "PIYASA_CONSOLE_HOST": "127.0.0.1",
        "PIYASA_CONSOLE_PORT": str(port),
        **bots_env,
    }
    log = workdir / "runner.log"
    command = [sys.executable, "-m", "piyasa_bot", "--log-level", args.log_level, "run"]
    runner = procs.start("runner", command, env=env, cwd=workdir, log=log)
    try:
        await control.wait_bots_polling(args.bots, 60 + args.bots, lambda: runner.poll() is None)
    except (RuntimeError, TimeoutError) as error:
        raise RuntimeError(f"{error}; runner log:\n{tail(log)}") from None
    return runner, port


async def measure(
    args: argparse.Namespace, workdir: Path, procs: Processes, control: Control, env: dict[str, str], db: DatabaseServer
) -> dict[str, Any]:
    started = time.time()
    runner, port = await start_runner(args, workdir, procs, control, env)
    ready_s = time.time() - started
    quiet = await wait_quiet(runner.pid, time.monotonic() + 60 + args.bots)
    print(f"console: {args.bots} bots polling after {ready_s:.1f} s, quiet: {quiet}", file=sys.stderr, flush=True)

    def alive() -> bool:
        return runner.poll() is None

    conn = await asyncpg.connect(env["DATABASE_URL"])
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1, an IP address
    http = aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}", cookie_jar=jar)
    try:
        async with http.get("/") as first:  # the local operator's session cookie
            if first.status != 200:
                raise RuntimeError(f"GET /: {first.status} {(await first.text())[:300]}")
        windows, page_ms = await idle_cost(args, http, runner.pid, db.postmaster_pid(), conn, alive)
        offset, round_trip = await clock_offset(conn)
        stream = LiveStream(http, CHAT_ID)
        await stream.open()
        live = await live_latency(args, stream, control, conn, offset)
        stopping = asyncio.create_task(asyncio.to_thread(procs.stop, runner))  # the stream is read meanwhile
        ended = await stream.wait_ended(15)
        stop = await stopping
        await stream.close()
    finally:
        await http.close()
        await conn.close()
    lines = (workdir / "runner.log").read_text(errors="replace").splitlines()
    return {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "started": started,
        "ready_s": round(ready_s, 1),
        "quiet_before_idle": quiet,
        "windows": windows,
        "page_ms": page_ms,
        "clock": {"offset_s": offset, "round_trip_s": round_trip},
        "live": live,
        "runner_stop": stop,
        "stream_ended_on_stop": ended,
        "log_warnings_errors": [x for x in lines if '"level": "warning"' in x or '"level": "error"' in x][:20],
    }


async def bench(
    args: argparse.Namespace, workdir: Path, procs: Processes, code: Snapshot, db: DatabaseServer
) -> dict[str, Any]:
    code.take()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIYASA_") and k != "DATABASE_URL"}
    env.update(code.env())
    server_dsn = db.start()
    db_name, dsn = await create_database(server_dsn)
    try:
        _, api = await start_emulator(procs, workdir, env, seed=args.seed)
        control = Control(api)
        try:
            run = await measure(
                args, workdir, procs, control, {**env, "DATABASE_URL": dsn, "PIYASA_TELEGRAM_API": api}, db
            )
        finally:
            await control.close()
    finally:
        procs.stop_all()
        await drop_database(server_dsn, db_name)
    return {**run, "code": code.digest}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.console", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bots", type=int, default=50)
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of each idle window")
    parser.add_argument("--repeat", type=int, default=2, help="A/B rounds (no page, a page open)")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds before each idle window")
    parser.add_argument("--messages", type=int, default=30, help="people's messages for the live latency")
    parser.add_argument("--event-timeout", type=float, default=10.0, help="seconds to wait for each message's event")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--log-level", default="WARNING", help="the runner's")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (runner and emulator logs)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    machine = machine_info()
    procs, code, db = Processes(), Snapshot(), DatabaseServer("piyasa-console-pg-")
    with work_folder("piyasa-console-", keep=args.keep) as workdir:
        try:
            run = asyncio.run(bench(args, workdir, procs, code, db))
        finally:
            procs.stop_all()
            db.stop()
            code.remove()
    result = {
        "command": "python -m benchmarks.console " + " ".join(argv),
        "args": vars(args) | {"out": str(args.out)},
        "machine": machine,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        **run,
    }
    result["figures"] = figures(run)
    write_results(args.out, "console", run["started"], result, markdown(result))
    return 0 if result["figures"]["idle_ok"] and result["figures"]["live_ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
