"""Soak: does the runner's memory stay flat through an hour of steady traffic?

    python -m benchmarks.soak                          # 60 minutes, 50 bots, 34 human msg/s
    python -m benchmarks.soak --minutes 3 --rate 5     # a short proof of the script

Processes: PostgreSQL (embedded pgserver, or DATABASE_URL), the Bot API
emulator (`python -m piyasa_bot.sandbox`) whose Crowd posts the people
(60 normal, 20 mentioning a bot, 20 replying to one, scaled to `--rate`
messages a second on average), and the runner (`python -m piyasa_bot run`,
started through benchmarks/soak_heap.py, which only adds a sampling thread).
The bots are privacy-off members of one supergroup; the runner is ready when
every bot confirmed a warm-up message (the emulator says so).

Measured on the runner's process alone: RSS every `--every` s (psutil, from
here); from inside it every `--every` s the Python heap (pymalloc's allocated
bytes and arenas, malloc's bytes in use and held free, `--tracemalloc`'s
traced bytes when asked), and every `--census-every` s the count of live
objects per type (gc-tracked objects outside the frozen start-up generation).
After `--warmup` minutes the least-squares slopes of each (MiB a minute) and
the object types that grew most. Results: benchmarks/results/soak/*.json and *.md;
the exit status is 0 only when the RSS slope is under the goal (0.05 MiB/min).

`--tracemalloc N` adds the allocation sites that grew (N frames each) but
inflates RSS by its own traces and snapshots: use it to find what grows, not
to measure the slope.

The code under test (piyasa_bot/, sql/, the soak's sampling files) is copied
first (benchmarks/lib's Snapshot), so a checkout that changes during the hour
does not change what runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.lib.database import DatabaseServer
from benchmarks.lib.emulator import Control, start_emulator
from benchmarks.lib.processes import Processes
from benchmarks.lib.results import write_results
from benchmarks.lib.snapshot import Snapshot
from benchmarks.lib.workdir import work_folder
from benchmarks.soak_report import MIB, figures, markdown

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "soak"
CHAT_ID = -1001000000077
# Run by the runner's process from the code snapshot.
SAMPLER_FILES = ("benchmarks/__init__.py", "benchmarks/soak_heap.py", "benchmarks/soak_report.py")

# --------------------------------------------------------------------------- the soak


def crowd_spec(args: argparse.Namespace, seconds: float) -> dict[str, Any]:
    normal, mention, reply = (int(n) for n in args.mix.split(":"))
    per_minute = normal * 1.5 + (mention + reply) * 2.5  # CrowdSpec's default ranges, (1, 2) and (2, 3)
    return {
        "chat_id": CHAT_ID,
        "normal": normal,
        "mention": mention,
        "reply": reply,
        "duration": seconds,
        "rate_multiplier": args.rate * 60 / per_minute,
        "seed": args.seed,
    }


async def soak(
    args: argparse.Namespace, workdir: Path, procs: Processes, code: Snapshot, database: DatabaseServer
) -> dict[str, Any]:
    import asyncpg
    import psutil

    code.take(extra=SAMPLER_FILES)
    from piyasa_bot.crypto import generate_key
    from piyasa_bot.db.pool import fresh_database

    env = {k: v for k, v in os.environ.items() if not k.startswith("PIYASA_") and k != "DATABASE_URL"}
    env.update(code.env())
    dsn = await fresh_database(database.start(), f"soak_{os.getpid()}")
    emulator, api = await start_emulator(procs, workdir, env, seed=args.seed)
    control = Control(api)
    call = control.call

    try:
        names = [f"s{i:03d}" for i in range(args.bots)]
        bots_env = await control.supergroup_roster(
            names, CHAT_ID, "Soak", privacy=False, username_suffix="soak_bot", config=workdir / "bots.yaml"
        )
        env.update(
            {
                "DATABASE_URL": dsn,
                "PIYASA_TELEGRAM_API": api,
                "PIYASA_SECRET_KEY": generate_key(),
                "PIYASA_DATA_DIR": str(workdir / "data"),
                **bots_env,
            }
        )
        started = time.time()
        warmup_end = started + args.warmup * 60
        stats = workdir / "heap.jsonl"
        sampled = [
            sys.executable,
            "-m",
            "benchmarks.soak_heap",
            "--stats",
            str(stats),
            "--every",
            str(args.every),
            "--census-every",
            str(args.census_every),
            "--warmup-end",
            str(warmup_end),
            "--tracemalloc",
            str(args.tracemalloc),
            *(["--collect"] if args.collect else []),
        ]
        runner = procs.start(
            "runner",
            [*sampled, "--", "--log-level", "WARNING", "run"],
            env=env,
            cwd=workdir,
            log=workdir / "runner.log",
        )
        # Ready when every bot polled past a warm-up message: the emulator says so.
        await call("POST", "/control/post", {"chat_id": CHAT_ID, "user_id": 99, "text": "merhaba, başlıyoruz"})
        while not (await call("POST", "/control/wait_confirmed", {"timeout": 2}))["confirmed"]:
            if runner.poll() is not None or time.time() - started > 120 + args.bots:
                raise RuntimeError(
                    f"the bots did not confirm the warm-up message (runner exit {runner.poll()}): "
                    f"{(workdir / 'runner.log').read_text(errors='replace')[-2000:]}"
                )
        ready_s = time.time() - started
        await call("POST", "/control/crowd", crowd_spec(args, args.minutes * 60))
        crowd_ends = time.time() + args.minutes * 60
        proc, samples = psutil.Process(runner.pid), []
        print(
            f"soak: ready after {ready_s:.1f} s; {args.minutes:g} min at {args.rate:g} msg/s, runner pid {runner.pid}",
            file=sys.stderr,
            flush=True,
        )
        while True:
            # /control/stats is cheap; /control/crowd returns every post so far (asked once, at the end).
            posted = (await call("GET", "/control/stats"))["posted"]
            if runner.poll() is not None:
                raise RuntimeError(
                    f"the runner exited with {runner.returncode}: "
                    f"{(workdir / 'runner.log').read_text(errors='replace')[-2000:]}"
                )
            cpu = proc.cpu_times()
            samples.append(
                {"t": time.time(), "rss": proc.memory_info().rss, "cpu_s": cpu.user + cpu.system, "posted": posted}
            )
            if len(samples) % max(1, round(60 / args.every)) == 0:
                print(
                    f"  {(samples[-1]['t'] - started) / 60:5.1f} min  RSS {samples[-1]['rss'] / MIB:6.1f} MiB  "
                    f"posted {posted}",
                    file=sys.stderr,
                    flush=True,
                )
            if time.time() >= crowd_ends:
                break
            await asyncio.sleep(min(args.every, max(0.0, crowd_ends - time.time())))
        crowd = await call("GET", "/control/crowd?wait=30")
        confirmed = (await call("POST", "/control/wait_confirmed", {"timeout": 60}))["confirmed"]
        stop = procs.stop(runner)
        conn = await asyncpg.connect(dsn)
        try:
            stored = await conn.fetchval("SELECT count(*) FROM messages WHERE chat_id = $1 AND bot_id IS NULL", CHAT_ID)
        finally:
            await conn.close()
        heap = [json.loads(line) for line in stats.read_text().splitlines() if line.strip()]
        log = (workdir / "runner.log").read_text(errors="replace").splitlines()
        return {
            "code": code.digest,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "started": started,
            "ready_s": round(ready_s, 1),
            "warmup_end": warmup_end,
            "samples": samples,
            "heap": heap,
            "posted": crowd["posted"] + 1,
            "crowd": crowd["by_kind"],
            "stored": stored,
            "all_confirmed": confirmed,
            "runner_stop": stop,
            "log_warnings_errors": sum('"level": "warning"' in x or '"level": "error"' in x for x in log),
        }
    finally:
        await control.close()
        procs.stop(emulator)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=34.0, help="people's messages a second, on average")
    parser.add_argument("--bots", type=int, default=50)
    parser.add_argument("--mix", default="60:20:20", help="people normal:mention:reply (the reference load test's)")
    parser.add_argument(
        "--warmup",
        type=float,
        default=None,
        help="minutes left out of the slopes (default 10, a third of shorter runs)",
    )
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--census-every", type=float, default=60.0, help="seconds between object censuses")
    parser.add_argument(
        "--tracemalloc",
        type=int,
        default=0,
        help="trace allocations with N frames (slows the runner, inflates RSS; off by default)",
    )
    parser.add_argument(
        "--collect",
        action="store_true",
        help="gc.collect() before each census: count only what is reachable (changes the runner's gc)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, heap samples)")
    args = parser.parse_args(argv)
    if args.warmup is None:
        args.warmup = min(10.0, args.minutes / 3)
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    procs, code, database = Processes(), Snapshot(), DatabaseServer("piyasa-soak-pg-")
    with work_folder("piyasa-soak-", keep=args.keep) as workdir:
        try:
            run = asyncio.run(soak(args, workdir, procs, code, database))
        finally:
            procs.stop_all()
            database.stop()
            code.remove()
    result = {
        "command": "python -m benchmarks.soak " + " ".join(argv),
        "args": vars(args) | {"out": str(args.out)},
        "machine": f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        **{k: v for k, v in run.items() if k not in ("samples", "heap")},
    }
    result["figures"] = figures(run, args)
    result["samples"] = run["samples"]
    result["heap"] = [{k: v for k, v in h.items() if k != "census"} for h in run["heap"]]
    write_results(args.out, "soak", run["started"], result, markdown(result), tag=f"-{args.minutes:g}min")
    return 0 if result["figures"]["verdict"] == "flat" else 1


if __name__ == "__main__":
    raise SystemExit(main())
