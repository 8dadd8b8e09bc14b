"""One ingest run: a fresh database and emulator, the runner under test, the measured window, the count."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.ingest_traffic import (
    CHAT_ID,
    RUNNERS,
    extra_env,
    log_problems,
    post_body,
    post_steady,
    runner_command,
    stored_ids,
    stored_rows,
)
from benchmarks.lib.database import DatabaseServer, create_database, drop_database
from benchmarks.lib.emulator import Control, start_emulator
from benchmarks.lib.figures import percentile
from benchmarks.lib.machine import machine_busy
from benchmarks.lib.processes import MIB, Processes, RssSampler, cpu_seconds, own_cpu_seconds, tail, vm_hwm, wait_quiet
from benchmarks.lib.snapshot import Snapshot

SAMPLE_EVERY = 0.25


@dataclass(frozen=True)
class Case:
    runner: str  # "piyasa" | "plain"
    bots: int
    rate: float | None  # None: idle

    @property
    def label(self) -> str:
        return f"{self.runner}:{self.bots}:{'idle' if self.rate is None else f'{self.rate:g}'}"

    @classmethod
    def parse(cls, text: str) -> Case:
        try:
            runner, bots, rate = text.split(":")
            if runner not in RUNNERS:
                raise ValueError(runner)
            return cls(runner, int(bots), None if rate == "idle" else float(rate))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected RUNNER:BOTS:RATE|idle (e.g. piyasa:50:5), got {text!r}"
            ) from None


@dataclass(frozen=True)
class Session:
    """What every run of a session shares: its processes, code snapshot, database server and options."""

    procs: Processes
    snapshot: Snapshot
    db: DatabaseServer
    args: argparse.Namespace


def _cpu(runner: subprocess.Popen[bytes], emulator: subprocess.Popen[bytes], pg_pid: int | None) -> dict[str, Any]:
    return {
        "runner": cpu_seconds(runner.pid),
        "emulator": cpu_seconds(emulator.pid),
        "postgres": cpu_seconds(pg_pid),
        "bench": own_cpu_seconds(),
        "machine": machine_busy(),
    }


async def _set_up_bots(control: Control, case: Case) -> dict[str, str]:
    tokens: dict[str, str] = {}
    for i in range(case.bots):
        name = f"b{i:03d}"
        answer = await control.call(
            "POST", "/control/bots", {"name": name, "username": f"{name}_bench_bot", "privacy": False}
        )
        tokens[name] = answer["token"]
    await control.call(
        "POST", "/control/chats", {"id": CHAT_ID, "title": "Bench", "type": "supergroup", "members": list(tokens)}
    )
    return tokens


async def _ready(
    case: Case,
    s: Session,
    control: Control,
    runner: subprocess.Popen[bytes],
    runner_log: Path,
    db_conn: asyncpg.Connection,
    started: float,
    result: dict[str, Any],
) -> None:
    """Every bot polls (the emulator's count), then one warm-up message is confirmed by all and stored."""
    budget = s.args.ready_timeout + 0.1 * case.bots - (time.monotonic() - started)
    try:
        await control.wait_bots_polling(case.bots, budget, alive=lambda: runner.poll() is None)
    except RuntimeError:
        raise RuntimeError(f"{case.runner} runner exited with {runner.returncode}:\n{tail(runner_log)}") from None
    except TimeoutError as error:
        raise RuntimeError(f"{error}:\n{tail(runner_log)}") from None
    result["bots_ready_s"] = round(time.monotonic() - started, 2)
    warm = await control.call("POST", "/control/post", post_body(0, "warmup"))
    confirmed = await control.wait_confirmed(60)
    warm_deadline = time.monotonic() + 30
    while await stored_ids(db_conn, [warm["message_id"]]) < 1:
        if time.monotonic() > warm_deadline or runner.poll() is not None:
            raise RuntimeError(f"warm-up message not stored (confirmed={confirmed}):\n{tail(runner_log)}")
        await asyncio.sleep(0.05)
    result["startup_s"] = round(time.monotonic() - started, 2)


def _window_figures(
    result: dict[str, Any],
    before: dict[str, Any],
    after: dict[str, Any],
    window: float,
    stats0: dict[str, Any],
    stats1: dict[str, Any],
) -> None:
    for key in ("runner", "emulator", "postgres", "bench"):
        if before[key] is not None and after[key] is not None:
            result[f"{key}_cpu_s"] = round(after[key] - before[key], 3)
            result[f"{key}_cpu_pct"] = round(100 * (after[key] - before[key]) / window, 1)
    busy = after["machine"][0] - before["machine"][0]
    total = after["machine"][1] - before["machine"][1]
    result["machine_busy_pct_of_all_cores"] = round(100 * busy / total, 1) if total else None

    def polls(stats: dict[str, Any]) -> int:
        return sum(stats["requests"].get("getUpdates", {}).values())

    result["getupdates_in_window"] = polls(stats1) - polls(stats0)
    result["updates_delivered_in_window"] = stats1["updates_delivered"] - stats0["updates_delivered"]
    result["unconfirmed_at_end"] = stats1["unconfirmed"]
    # The runner's own bots may talk (conversation): their sends, for the record.
    result["bot_sends_in_window"] = stats1.get("sent", 0) - stats0.get("sent", 0)


async def _drain(
    case: Case,
    s: Session,
    control: Control,
    runner: subprocess.Popen[bytes],
    db_conn: asyncpg.Connection,
    ids: list[int],
    t_end: float,
    cpu_before: float | None,
    sampler: RssSampler,
    result: dict[str, Any],
) -> None:
    """After the window: every posted message stored, every copy confirmed, the runner quiet (all bounded)."""
    result["stored_at_window_end"] = await stored_ids(db_conn, ids)
    result["backlog_at_window_end"] = len(ids) - result["stored_at_window_end"]
    sampler.phase = "drain"
    drain_deadline = t_end + s.args.drain_timeout
    stored = await stored_ids(db_conn, ids)
    while stored < len(ids) and time.monotonic() < drain_deadline and runner.poll() is None:
        await asyncio.sleep(0.1)
        stored = await stored_ids(db_conn, ids)
    drained = time.monotonic()
    # Every bot confirmed every update (offsets sent): the emulator's queues are empty.
    confirmed = await control.wait_confirmed(max(1.0, drain_deadline - time.monotonic()))
    result["confirmed_by_all_bots"] = confirmed
    result["confirmed_after_s"] = round(time.monotonic() - t_end, 2) if confirmed else None
    result["stored_within_drain"] = stored
    result["drain_s"] = round(drained - t_end, 2) if stored == len(ids) else None
    result["drain_timed_out"] = stored < len(ids)
    # Storing a message takes one copy; the runner may still be chewing on
    # the other copies. Its cost per message counts until it is quiet again.
    quiet = await wait_quiet(runner.pid, drain_deadline) if runner.poll() is None else False
    result["runner_quiet_after_s"] = round(time.monotonic() - t_end - (0.5 if quiet else 0), 2)
    result["runner_quiet"] = quiet
    runner_total = cpu_seconds(runner.pid)
    if runner_total is not None and cpu_before is not None:
        result["runner_cpu_s_incl_drain"] = round(runner_total - cpu_before, 3)
        if ids:
            result["runner_cpu_ms_per_msg"] = round(1000 * result["runner_cpu_s_incl_drain"] / len(ids), 3)
            result["runner_cpu_ms_per_update"] = round(result["runner_cpu_ms_per_msg"] / max(1, case.bots), 4)
    drain_peak = sampler.peaks.get("drain")
    result["peak_rss_mib_drain"] = round(drain_peak / MIB, 1) if drain_peak else None


async def _count(
    db_conn: asyncpg.Connection, posted: list[dict[str, Any]], window: float, result: dict[str, Any]
) -> None:
    """What reached the table: stored, lost, duplicates, latency from available_at to commit."""
    rows = await stored_rows(db_conn, [p["message_id"] for p in posted])
    by_id = {row["id"]: row for row in rows}
    in_order = [
        round((by_id[p["message_id"]]["at"] - p["available_at"]) * 1000, 2) if p["message_id"] in by_id else None
        for p in posted
    ]
    latencies = [v for v in in_order if v is not None]
    result["stored"] = len(by_id)
    result["lost"] = len(posted) - len(by_id)
    result["duplicates"] = sum(1 for row in rows if row["n"] > 1)
    result["rows_total"] = int(await db_conn.fetchval("SELECT count(*) FROM messages"))
    result["recipients_per_message"] = statistics.median(p["recipients"] for p in posted) if posted else 0
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0)):
        value = percentile(latencies, q)
        result[f"latency_{name}_ms"] = round(value, 2) if value is not None else None
    result["latency_mean_ms"] = round(statistics.fmean(latencies), 2) if latencies else None
    # In posting order (message i was posted at about i/rate s into the window); None = lost.
    result["latencies_ms"] = in_order
    if latencies and posted:
        # Stored messages per second over the window (what the runner kept up with).
        in_window = sum(
            1
            for p in posted
            if p["message_id"] in by_id and by_id[p["message_id"]]["at"] - posted[0]["available_at"] <= window
        )
        result["stored_per_s_in_window"] = round(in_window / window, 2)


async def _measure(
    case: Case,
    s: Session,
    control: Control,
    runner: subprocess.Popen[bytes],
    emulator: subprocess.Popen[bytes],
    runner_log: Path,
    dsn: str,
    started: float,
    result: dict[str, Any],
) -> None:
    db_conn = await asyncpg.connect(dsn)
    try:
        await _ready(case, s, control, runner, runner_log, db_conn, started, result)
        await asyncio.sleep(s.args.settle)
        # The measured window.
        pg_pid = s.db.postmaster_pid()
        stats0 = await control.stats()
        before = _cpu(runner, emulator, pg_pid)
        load0 = os.getloadavg()
        sampler = RssSampler(runner.pid, SAMPLE_EVERY)
        sampler.start()
        t_start = time.monotonic()
        print(f"    window starts ({s.args.duration:g} s)", file=sys.stderr, flush=True)
        posted: list[dict[str, Any]] = []
        if case.rate is None:
            await asyncio.sleep(s.args.duration)
        else:
            posted, post_info = await post_steady(control, case.rate, s.args.duration)
            result.update(post_info)
        t_end = time.monotonic()
        window = t_end - t_start
        after = _cpu(runner, emulator, pg_pid)
        stats1 = await control.stats()
        load1 = os.getloadavg()
        result["window_s"] = round(window, 2)
        result["loadavg_1m_before"] = round(load0[0], 2)
        result["loadavg_1m_after"] = round(load1[0], 2)
        result["loadavg_5m_after"] = round(load1[1], 2)
        _window_figures(result, before, after, window, stats0, stats1)
        result["peak_rss_mib"] = round(sampler.peaks.get("window", 0) / MIB, 1)
        if case.rate is None:
            if result["getupdates_in_window"]:
                result["runner_cpu_ms_per_poll"] = round(
                    1000 * result["runner_cpu_s"] / result["getupdates_in_window"], 3
                )
        else:
            await _drain(
                case,
                s,
                control,
                runner,
                db_conn,
                [p["message_id"] for p in posted],
                t_end,
                before["runner"],
                sampler,
                result,
            )
        await sampler.stop()
        hwm = vm_hwm(runner.pid)
        result["vmhwm_mib"] = round(hwm / MIB, 1) if hwm else None
        result["runner_alive_at_end"] = runner.poll() is None
        # Stop the runner (it flushes), then count what is in the table.
        result["runner_stop"] = s.procs.stop(runner)
        result["runner_log"] = log_problems(runner_log, case.runner)
        if case.rate is not None:
            await _count(db_conn, posted, window, result)
    finally:
        await db_conn.close()


async def run_once(case: Case, s: Session, repeat: int) -> dict[str, Any]:
    args = s.args
    workdir = Path(tempfile.mkdtemp(prefix="piyasa-bench-", dir="/tmp"))
    result: dict[str, Any] = {
        "case": case.label,
        "runner": case.runner,
        "bots": case.bots,
        "rate": case.rate,
        "duration": args.duration,
        "repeat": repeat,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "code": s.snapshot.digest or "live checkout",
    }
    db_name = None
    emulator = runner = None
    control: Control | None = None
    try:
        db_name, dsn = await create_database(s.db.dsn)
        emulator, api = await start_emulator(s.procs, workdir, s.snapshot.env())
        control = Control(api)
        tokens = await _set_up_bots(control, case)
        if case.runner == "plain":
            from piyasa_bot.db.migrate import apply_migrations

            conn = await asyncpg.connect(dsn)
            try:
                await apply_migrations(conn)
            finally:
                await conn.close()
        cmd, env, cwd = runner_command(case.runner, api, dsn, workdir, tokens, args)
        env.update(s.snapshot.env())
        for key, value in extra_env(args).items():
            env[key] = os.pathsep.join(filter(None, [value, env.get(key)])) if key == "PYTHONPATH" else value
        runner_log = workdir / "runner.log"
        started = time.monotonic()
        runner = s.procs.start(case.runner, cmd, env=env, cwd=cwd, log=runner_log)
        print(f"    runner pid {runner.pid}, emulator pid {emulator.pid}", file=sys.stderr, flush=True)
        await _measure(case, s, control, runner, emulator, runner_log, dsn, started, result)
        runner = None  # stopped by _measure
        result["ok"] = True
    except Exception as error:  # noqa: BLE001 - the run is reported as failed, the others go on
        result["ok"] = False
        result["error"] = f"{type(error).__name__}: {error}"
    finally:
        if runner is not None:
            result.setdefault("runner_stop", s.procs.stop(runner))
        if control is not None:
            await control.close()
        if emulator is not None:
            s.procs.stop(emulator, timeout=10)
        if db_name is not None:
            with contextlib.suppress(Exception):
                await drop_database(s.db.dsn, db_name)
        if args.keep_logs:
            result["workdir"] = str(workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return result
