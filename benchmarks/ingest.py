"""Ingest benchmark: N bots in one supergroup, people posting at a fixed rate.

Every part is its own process, so CPU lands where it is spent: PostgreSQL
(embedded pgserver, or DATABASE_URL), the Bot API emulator
(`python -m piyasa_bot.sandbox`), the runner under test, and this script,
which drives the emulator's control API and samples the others with psutil.

Runners:
  piyasa  `python -m piyasa_bot run` (the project)
  plain   benchmarks/plain_aiogram.py: aiogram start_polling(*bots), one INSERT per copy

For each run: a fresh database and a fresh emulator; N bots (privacy off) and
one supergroup holding them all; the runner is started and every bot is
confirmed polling (the emulator counts the bots that have called getUpdates,
then one warm-up message is confirmed by every bot and stored); then R
messages/s are posted for D seconds on a steady schedule.
Latency is `messages.created_at` (clock_timestamp() at insert) minus the
emulator's `available_at` (time.time() when the updates were queued): the same
machine clock. `--idle` posts nothing and measures the cost of polling.

    python -m benchmarks.ingest --runner piyasa --bots 50 --rate 5 50 100 --duration 30 --repeat 3
    python -m benchmarks.ingest --runner piyasa --idle --bots 50 500 --duration 30
    python -m benchmarks.ingest --case piyasa:50:5 --case plain:50:5 --case piyasa:500:idle --json out.json

The code under test is copied (piyasa_bot/ + sql/) at the start and every
process runs that copy, so all runs of a session measure the same code even if
the checkout changes meanwhile; its sha256 is in the results (--live: no copy).

Every process started here is terminated at the end, also on Ctrl-C or failure.
The run itself is in benchmarks/ingest_run.py, the traffic and the runners'
command lines in benchmarks/ingest_traffic.py, what the benchmarks share in
benchmarks/lib/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.ingest_run import Case, Session, run_once
from benchmarks.ingest_traffic import RUNNERS
from benchmarks.lib.database import DatabaseServer
from benchmarks.lib.figures import fmt, medians
from benchmarks.lib.machine import machine_info
from benchmarks.lib.processes import Processes
from benchmarks.lib.snapshot import Snapshot

# --------------------------------------------------------------------------- report

LOAD_COLUMNS = [
    ("posted", "posted"),
    ("stored", "stored"),
    ("lost", "lost"),
    ("duplicates", "dup"),
    ("latency_p50_ms", "P50 ms"),
    ("latency_p95_ms", "P95 ms"),
    ("latency_p99_ms", "P99 ms"),
    ("latency_max_ms", "max ms"),
    ("runner_cpu_pct", "runner CPU %"),
    ("runner_cpu_ms_per_msg", "runner CPU ms/msg"),
    ("peak_rss_mib", "peak RSS MiB"),
    ("vmhwm_mib", "VmHWM MiB"),
    ("backlog_at_window_end", "backlog at end"),
    ("drain_s", "all stored after s"),
    ("confirmed_after_s", "all confirmed after s"),
    ("emulator_cpu_pct", "emulator CPU %"),
    ("postgres_cpu_pct", "postgres CPU %"),
    ("machine_busy_pct_of_all_cores", "machine busy %"),
    ("loadavg_1m_before", "load 1m"),
]
IDLE_COLUMNS = [
    ("startup_s", "startup s"),
    ("runner_cpu_pct", "runner CPU %"),
    ("getupdates_in_window", "polls answered"),
    ("runner_cpu_ms_per_poll", "CPU ms/poll"),
    ("peak_rss_mib", "peak RSS MiB"),
    ("vmhwm_mib", "VmHWM MiB"),
    ("emulator_cpu_pct", "emulator CPU %"),
    ("machine_busy_pct_of_all_cores", "machine busy %"),
    ("loadavg_1m_before", "load 1m"),
]


def case_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over a case's runs, and how many of them timed out draining."""
    ok = [r for r in runs if r.get("ok")]
    return {**medians(runs), "drain_timed_out_runs": sum(1 for r in ok if r.get("drain_timed_out"))}


def markdown(cases: list[Case], summary: dict[str, dict[str, Any]], duration: float) -> str:
    lines: list[str] = []
    load = [c for c in cases if c.rate is not None]
    idle = [c for c in cases if c.rate is None]
    if load:
        lines.append(f"Load: D = {duration:g} s per run; figures are medians over the runs.\n")
        lines.append("| runner | bots | msg/s | runs | " + " | ".join(h for _, h in LOAD_COLUMNS) + " |")
        lines.append("|---" * (4 + len(LOAD_COLUMNS)) + "|")
        for case in load:
            s = summary[case.label]
            runs = f"{s['ok_runs']}/{s['runs']}" + (
                f" ({s['drain_timed_out_runs']} drain timeout)" if s.get("drain_timed_out_runs") else ""
            )
            lines.append(
                f"| {case.runner} | {case.bots} | {case.rate:g} | {runs} | "
                + " | ".join(fmt(s.get(k)) for k, _ in LOAD_COLUMNS)
                + " |"
            )
    if idle:
        lines.append(f"\nIdle: D = {duration:g} s, no traffic; medians over the runs.\n")
        lines.append("| runner | bots | runs | " + " | ".join(h for _, h in IDLE_COLUMNS) + " |")
        lines.append("|---" * (3 + len(IDLE_COLUMNS)) + "|")
        for case in idle:
            s = summary[case.label]
            lines.append(
                f"| {case.runner} | {case.bots} | {s['ok_runs']}/{s['runs']} | "
                + " | ".join(fmt(s.get(k)) for k, _ in IDLE_COLUMNS)
                + " |"
            )
    return "\n".join(lines)


def session_info(db: DatabaseServer) -> dict[str, Any]:
    info = {**machine_info(), "postgres": "DATABASE_URL" if db.external else "embedded (pgserver)"}
    with contextlib.suppress(Exception):
        info["postgres_version"] = db.version()
    return info


# --------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ingest",
        description=__doc__,
        epilog="Cases run round-robin: repeat k of every case before repeat k+1.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--runner", nargs="+", choices=sorted(RUNNERS), default=["piyasa"], help="runner(s) under test (default piyasa)"
    )
    parser.add_argument("--bots", nargs="+", type=int, default=[50], help="bots in the group (default 50)")
    parser.add_argument("--rate", nargs="+", type=float, default=[5.0], help="human messages per second (default 5)")
    parser.add_argument("--idle", action="store_true", help="no traffic: measure polling cost only")
    parser.add_argument(
        "--case",
        action="append",
        type=Case.parse,
        default=[],
        metavar="RUNNER:BOTS:RATE",
        help="explicit case, repeatable (RATE may be 'idle'); replaces --runner/--bots/--rate",
    )
    parser.add_argument("--duration", type=float, default=30.0, help="posting (or idle) window D in s (default 30)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; medians are reported (default 1)")
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=60.0,
        help="after posting, wait at most this long for every message to be stored (default 60)",
    )
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=60.0,
        help="wait this long (+0.1 s a bot) for every bot to poll (default 60)",
    )
    parser.add_argument("--settle", type=float, default=2.0, help="pause after the warm-up message (default 2 s)")
    parser.add_argument("--plain-polling-timeout", type=int, default=25, help="getUpdates timeout of the plain runner")
    parser.add_argument("--log-level", default="INFO", help="piyasa runner log level (default INFO)")
    parser.add_argument("--json", type=Path, help="write every run's raw results here")
    parser.add_argument(
        "--live", action="store_true", help="run the checkout as it is on disk instead of a snapshot taken at the start"
    )
    parser.add_argument("--keep-code", action="store_true", help="keep the code snapshot (its path is printed)")
    parser.add_argument("--code", type=Path, help="run an earlier kept snapshot instead of taking one")
    parser.add_argument(
        "--runner-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the runner process only (diagnostics), repeatable",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep each run's temp dir (runner/emulator logs)")
    return parser


def expand_cases(args: argparse.Namespace) -> list[Case]:
    if args.case:
        return list(dict.fromkeys(args.case))
    rates: list[float | None] = [None] if args.idle else list(args.rate)
    return [Case(r, n, rate) for r in args.runner for n in args.bots for rate in rates]


async def run_all(cases: list[Case], session: Session, results: dict[str, list[dict[str, Any]]]) -> None:
    args = session.args
    total = len(cases) * args.repeat
    done = 0
    for repeat in range(args.repeat):
        for case in cases:
            done += 1
            print(
                f"[{done}/{total}] {case.label} run {repeat + 1}/{args.repeat} (load {os.getloadavg()[0]:.2f}) ...",
                file=sys.stderr,
                flush=True,
            )
            budget = args.duration + args.drain_timeout + args.ready_timeout + 0.1 * case.bots + 180
            try:
                result = await asyncio.wait_for(run_once(case, session, repeat), budget)
            except TimeoutError:
                result = {"case": case.label, "ok": False, "error": f"run exceeded {budget:.0f} s"}
            results[case.label].append(result)
            brief = {
                k: result.get(k)
                for k in (
                    "ok",
                    "error",
                    "posted",
                    "stored",
                    "lost",
                    "latency_p50_ms",
                    "latency_p99_ms",
                    "runner_cpu_pct",
                    "peak_rss_mib",
                    "backlog_at_window_end",
                    "drain_s",
                )
                if k in result
            }
            print(f"    {json.dumps(brief, ensure_ascii=False)}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cases = expand_cases(args)
    # SIGTERM unwinds like Ctrl-C, so the finally below stops every child. SIGINT is
    # set explicitly: a shell starts background jobs with it ignored.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    db, snapshot, procs = DatabaseServer(), Snapshot(), Processes()
    results: dict[str, list[dict[str, Any]]] = {case.label: [] for case in cases}
    started = time.time()
    info: dict[str, Any] = {}
    interrupted = False
    try:
        if not args.live:
            snapshot.take(args.code, args.keep_code)
        db.start()
        info = session_info(db)
        info["code"] = snapshot.digest or "live checkout"
        info["code_taken_at"] = snapshot.taken_at or None
        print(
            f"machine: {info['nproc']} cores, {info['cpu_model']}, Python {info['python']}, "
            f"aiogram {info.get('aiogram')}, load {info['loadavg_at_start']}",
            file=sys.stderr,
        )
        asyncio.run(run_all(cases, Session(procs, snapshot, db, args), results))
    except KeyboardInterrupt:
        interrupted = True
        print("interrupted: stopping everything started here", file=sys.stderr)
    finally:
        procs.stop_all()
        db.stop()
        snapshot.remove()
    summary = {label: case_summary(runs) for label, runs in results.items()}
    info["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    info["wall_s"] = round(time.time() - started, 1)
    report = markdown(cases, summary, args.duration)
    print(
        f"\nmachine: {info.get('nproc')} cores ({info.get('cpu_model')}), Python {info.get('python')}, "
        f"aiogram {info.get('aiogram')}, PostgreSQL {info.get('postgres_version', '?')} ({info.get('postgres')}); "
        f"load average at start {info.get('loadavg_at_start')}, at end {info['loadavg_at_end']}; "
        f"code {info.get('code')} (piyasa_bot/ + sql/ sha256, taken {info.get('code_taken_at')}); "
        f"wall {info['wall_s']} s\n"
    )
    print(report)
    failed = [r for runs in results.values() for r in runs if not r.get("ok")]
    for r in failed:
        print(f"\nFAILED {r.get('case')} run {r.get('repeat')}: {r.get('error')}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "argv": sys.argv,
                    "args": {
                        k: (str(v) if isinstance(v, Path) else [c.label for c in v] if k == "case" else v)
                        for k, v in vars(args).items()
                    },
                    "summary": summary,
                    "runs": results,
                },
                indent=1,
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
    return 130 if interrupted else (1 if failed else 0)


if __name__ == "__main__":
    raise SystemExit(main())
