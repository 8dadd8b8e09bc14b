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
confirmed polling (log lines, then one warm-up message confirmed by every bot
and stored); then R messages/s are posted for D seconds on a steady schedule.
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
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CHAT_ID = -1001000000001
SAMPLE_EVERY = 0.25
MIB = 1024 * 1024

READY_MARKERS = {
    "piyasa": "bot.identified",  # runner log line (JSON) once getMe + deleteWebhook are done
    "plain": "Run polling for bot",  # aiogram's dispatcher log line as a bot's polling starts
}


# --------------------------------------------------------------------------- processes


class Processes:
    """Everything this script starts; stopped in reverse order, whatever happens."""

    def __init__(self) -> None:
        self._running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, cmd: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
        with open(log, "wb") as out:
            # Own session: a Ctrl-C at the terminal reaches this script only, which
            # then stops the children in order (runner before emulator before database).
            proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self._running.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> dict[str, Any]:
        """SIGTERM, wait up to `timeout`, then SIGKILL. Returns how it ended."""
        self._running = [(n, p) for n, p in self._running if p is not proc]
        if proc.poll() is not None:
            return {"exit": proc.returncode, "killed": False, "stop_s": 0.0}
        started = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
            killed = False
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
            killed = True
        return {"exit": proc.returncode, "killed": killed, "stop_s": round(time.monotonic() - started, 2)}

    def stop_all(self) -> None:
        for _, proc in reversed(list(self._running)):
            self.stop(proc, timeout=10.0)


PROCS = Processes()


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_seconds(pid: int | None) -> float | None:
    """user+sys of a process and its live children (and of its reaped children)."""
    if pid is None:
        return None
    total = 0.0
    for proc in tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


def own_cpu_seconds() -> float:
    """This script alone (its children are the processes under test)."""
    t = psutil.Process().cpu_times()
    return t.user + t.system


async def wait_quiet(pid: int, deadline: float, threshold: float = 0.10, interval: float = 0.5) -> bool:
    """Wait until the process uses less than `threshold` of a core over `interval` s."""
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(interval)
        now = cpu_seconds(pid)
        if last is None or now is None:
            return False
        if (now - last) / interval < threshold:
            return True
        last = now
    return False


def rss_bytes(pid: int) -> int:
    total = 0
    for proc in tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += proc.memory_info().rss
    return total


def vm_hwm(pid: int) -> int | None:
    """Peak resident set of the process over its whole life (kernel's VmHWM), bytes."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def machine_busy() -> tuple[float, float]:
    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    return sum(t) - idle, sum(t)


class RssSampler:
    """Samples a process tree's RSS every SAMPLE_EVERY s; keeps the peak per phase."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peaks: dict[str, int] = {}
        self.phase = "window"
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            rss = rss_bytes(self.pid)
            self.samples += 1
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), rss)
            await asyncio.sleep(SAMPLE_EVERY)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


# --------------------------------------------------------------------------- database


class Snapshot:
    """A frozen copy of piyasa_bot/ and sql/ that every process of the session runs.

    The checkout may change while a session runs (other work on the tree); each
    run starts a fresh runner, so without a copy the repeats of one case could
    measure different code. The copy's content hash goes into the results.
    """

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.digest = ""
        self.taken_at = ""

    def take(self, existing: Path | None = None, keep: bool = False) -> None:
        """Copy the checkout (or use `existing`, an earlier kept snapshot) and hash it."""
        import hashlib

        self.keep = keep or existing is not None
        if existing is not None:
            self.folder = existing.resolve()
            if not (self.folder / "piyasa_bot").is_dir() or not (self.folder / "sql").is_dir():
                raise SystemExit(f"--code {existing}: expected piyasa_bot/ and sql/ in it")
        else:
            self.folder = Path(tempfile.mkdtemp(prefix="piyasa-bench-code-", dir="/tmp"))
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(ROOT / "piyasa_bot", self.folder / "piyasa_bot", ignore=ignore)
            shutil.copytree(ROOT / "sql", self.folder / "sql", ignore=ignore)
        digest = hashlib.sha256()
        for path in sorted(self.folder.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".sql"):
                digest.update(str(path.relative_to(self.folder)).encode() + b"\0" + path.read_bytes())
        self.digest = digest.hexdigest()[:16]
        self.taken_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        # This script's own imports of piyasa_bot (embedded PostgreSQL, migrations, keys) too.
        sys.path.insert(0, str(self.folder))

    def env(self) -> dict[str, str]:
        if self.folder is None:
            return {}
        # Before site-packages, so it wins over the editable install of the checkout.
        return {"PYTHONPATH": os.pathsep.join(filter(None, [str(self.folder), os.environ.get("PYTHONPATH")]))}

    def remove(self) -> None:
        if self.folder is not None and getattr(self, "keep", False):
            print(f"code snapshot kept in {self.folder} (reuse it with --code)", file=sys.stderr)
            self.folder = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


SNAPSHOT = Snapshot()


def with_database(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


class Database:
    """The PostgreSQL server: embedded (started here, stopped at the end) or DATABASE_URL."""

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.server: Any = None
        self.server_dsn = ""
        self.external = False

    def start(self) -> None:
        if url := os.environ.get("DATABASE_URL"):
            self.server_dsn, self.external = url, True
            return
        from piyasa_bot.db.embedded import EmbeddedPostgres

        # Under /tmp, not a private pytest dir: pgserver runs PostgreSQL as another
        # user when started by root, and that user must be able to walk the path.
        self.folder = Path(tempfile.mkdtemp(prefix="piyasa-bench-pg-", dir="/tmp"))
        os.chmod(self.folder, 0o755)
        self.server = EmbeddedPostgres(self.folder, stop_at_exit=True)
        self.server_dsn = self.server.dsn()

    def postmaster_pid(self) -> int | None:
        if self.folder is None:
            return None
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.folder / "pg" / "postmaster.pid").read_text().splitlines()[0])
        return None

    def version(self) -> str:
        async def ask() -> str:
            conn = await asyncpg.connect(self.server_dsn)
            try:
                return str(await conn.fetchval("SHOW server_version"))
            finally:
                await conn.close()

        return asyncio.run(ask())

    async def create(self) -> tuple[str, str]:
        name = f"bench_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(self.server_dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return name, with_database(self.server_dsn, name)

    async def drop(self, name: str) -> None:
        conn = await asyncpg.connect(self.server_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    def stop(self) -> None:
        if self.server is not None:
            with contextlib.suppress(Exception):
                self.server.stop()
            self.server = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


# --------------------------------------------------------------------------- one run


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
            if runner not in READY_MARKERS:
                raise ValueError(runner)
            return cls(runner, int(bots), None if rate == "idle" else float(rate))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected RUNNER:BOTS:RATE|idle (e.g. piyasa:50:5), got {text!r}") from None


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def count_lines(path: Path, marker: str) -> int:
    try:
        return path.read_text(errors="replace").count(marker)
    except OSError:
        return 0


def log_problems(path: Path, runner: str) -> dict[str, Any]:
    """Warning/error lines of the runner's log, counted, with a few examples."""
    counts = {"warning": 0, "error": 0}
    examples: list[str] = []
    with contextlib.suppress(OSError):
        for line in path.read_text(errors="replace").splitlines():
            level = None
            if runner == "piyasa":
                with contextlib.suppress(ValueError):
                    level = json.loads(line).get("level")
                if level is None and ("Traceback" in line or "Error" in line):
                    level = "error"
            else:
                for name in ("WARNING", "ERROR", "CRITICAL"):
                    if f" {name} " in line:
                        level = "error" if name != "WARNING" else "warning"
                if "Traceback" in line:
                    level = "error"
                if "Received SIGTERM signal" in line:  # aiogram's note that we stopped it
                    level = None
            if level in ("warning", "error", "critical", "exception"):
                key = "warning" if level == "warning" else "error"
                counts[key] += 1
                if len(examples) < 5:
                    examples.append(line[:300])
    return {**counts, "examples": examples}


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


async def start_emulator(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    log = workdir / "emulator.log"
    proc = PROCS.start("emulator", [PYTHON, "-m", "piyasa_bot.sandbox", "--host", "127.0.0.1", "--port", "0"],
                       env={**os.environ, **SNAPSHOT.env()}, cwd=workdir, log=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"emulator exited with {proc.returncode}:\n{tail(log)}")
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("http://127.0.0.1:"):
                return proc, line.strip()
        await asyncio.sleep(0.05)
    raise RuntimeError(f"emulator printed no URL within 30 s:\n{tail(log)}")


class Control:
    def __init__(self, base: str) -> None:
        self.base = base
        self.http = aiohttp.ClientSession(
            base_url=base, connector=aiohttp.TCPConnector(limit=32), timeout=aiohttp.ClientTimeout(total=120)
        )

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.http.request(method, path, json=body) as resp:
            data = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"{method} {path}: {resp.status} {data}")
            return data

    async def close(self) -> None:
        await self.http.close()


TEXTS = [
    "BIST bugün yine yatay, hacim düşük",
    "dolar/TL 0.3 yukarı, altın sabit",
    "THYAO bilançosu beklentinin üstünde geldi",
    "faiz kararı perşembe, herkes bekliyor",
    "BTC 100 bin direncini test ediyor",
    "gram altın rekor tazeledi mi?",
]


def post_body(i: int, tag: str) -> dict[str, Any]:
    return {"chat_id": CHAT_ID, "user_id": 1000 + i % 97, "first_name": f"Kişi{i % 97}",
            "text": f"{TEXTS[i % len(TEXTS)]} [{tag}{i}]"}


async def post_steady(control: Control, rate: float, duration: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Post rate*duration messages, message i at t0 + i/rate (no bursts, no catching up in batches)."""
    loop = asyncio.get_running_loop()
    count = round(rate * duration)
    posted: list[dict[str, Any]] = []
    lateness: list[float] = []
    answer_ms: list[float] = []
    failures: list[str] = []

    async def one(i: int) -> None:
        sent = loop.time()
        try:
            answer = await control.call("POST", "/control/post", post_body(i, "m"))
        except Exception as error:  # noqa: BLE001 - counted and reported
            failures.append(f"{type(error).__name__}: {error}")
            return
        answer_ms.append((loop.time() - sent) * 1000)
        posted.append({"message_id": answer["message_id"], "available_at": answer["available_at"],
                       "recipients": len(answer["recipients"])})

    tasks: list[asyncio.Task[None]] = []
    t0 = loop.time() + 0.05
    for i in range(count):
        target = t0 + i / rate
        delay = target - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        lateness.append((loop.time() - target) * 1000)
        tasks.append(asyncio.create_task(one(i)))
    last_sent = loop.time()
    if tasks:
        await asyncio.wait(tasks, timeout=60)
    lateness.sort()
    answer_ms.sort()
    info = {
        "scheduled": count,
        "posted": len(posted),
        "post_failures": len(failures),
        "post_failure_examples": failures[:3],
        "achieved_rate": round(count / (last_sent - t0), 2) if count > 1 and last_sent > t0 else None,
        "schedule_late_ms_p99": round(percentile(lateness, 0.99) or 0, 2),
        "schedule_late_ms_max": round(lateness[-1], 2) if lateness else None,
        "post_answer_ms_p50": round(percentile(answer_ms, 0.5) or 0, 2),
        "post_answer_ms_max": round(answer_ms[-1], 2) if answer_ms else None,
    }
    return posted, info


async def stored_ids(conn: asyncpg.Connection, ids: list[int]) -> int:
    return int(await conn.fetchval(
        "SELECT count(DISTINCT telegram_message_id) FROM messages"
        " WHERE chat_id = $1 AND telegram_message_id = ANY($2::bigint[])",
        CHAT_ID, ids))


def write_roster(path: Path, names: list[str]) -> None:
    roster = {
        "chats": [{"id": CHAT_ID, "title": "Bench"}],
        "bots": [{"name": name, "token": "${" + f"{name.upper()}_TOKEN" + "}", "chats": [CHAT_ID]} for name in names],
    }
    path.write_text(yaml.safe_dump(roster, sort_keys=False), encoding="utf-8")


def runner_command(case: Case, api: str, dsn: str, workdir: Path, tokens: dict[str, str],
                   args: argparse.Namespace) -> tuple[list[str], dict[str, str], Path]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("PIYASA_") and key != "DATABASE_URL"}
    if case.runner == "piyasa":
        from piyasa_bot.crypto import generate_key

        config = workdir / "bots.yaml"
        write_roster(config, list(tokens))
        env.update({
            "DATABASE_URL": dsn,
            "PIYASA_CONFIG": str(config),
            "PIYASA_TELEGRAM_API": api,
            "PIYASA_SECRET_KEY": generate_key(),
            "PIYASA_DATA_DIR": str(workdir / "data"),
        })
        env.update({f"{name.upper()}_TOKEN": token for name, token in tokens.items()})
        # cwd: the temp dir, so no .env of the checkout leaks in.
        return [PYTHON, "-m", "piyasa_bot", "--log-level", args.log_level, "run"], env, workdir
    env["PLAIN_BOT_TOKENS"] = ",".join(tokens.values())
    cmd = [PYTHON, str(ROOT / "benchmarks" / "plain_aiogram.py"), "--api", api, "--dsn", dsn,
           "--polling-timeout", str(args.plain_polling_timeout)]
    return cmd, env, workdir


def extra_env(args: argparse.Namespace) -> dict[str, str]:
    extra = {}
    for item in args.runner_env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--runner-env wants KEY=VALUE, got {item!r}")
        extra[key] = value
    return extra


async def run_once(case: Case, db: Database, args: argparse.Namespace, repeat: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="piyasa-bench-", dir="/tmp"))
    result: dict[str, Any] = {"case": case.label, "runner": case.runner, "bots": case.bots,
                              "rate": case.rate, "duration": args.duration, "repeat": repeat,
                              "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                              "code": SNAPSHOT.digest or "live checkout"}
    db_name = None
    emulator = runner = None
    control: Control | None = None
    try:
        db_name, dsn = await db.create()
        emulator, api = await start_emulator(workdir)
        control = Control(api)
        names = [f"b{i:03d}" for i in range(case.bots)]
        tokens: dict[str, str] = {}
        for name in names:
            answer = await control.call("POST", "/control/bots",
                                        {"name": name, "username": f"{name}_bench_bot", "privacy": False})
            tokens[name] = answer["token"]
        await control.call("POST", "/control/chats",
                           {"id": CHAT_ID, "title": "Bench", "type": "supergroup", "members": names})
        if case.runner == "plain":
            from piyasa_bot.db.migrate import apply_migrations

            conn = await asyncpg.connect(dsn)
            try:
                await apply_migrations(conn)
            finally:
                await conn.close()

        cmd, env, cwd = runner_command(case, api, dsn, workdir, tokens, args)
        env.update(SNAPSHOT.env())
        for key, value in extra_env(args).items():
            env[key] = os.pathsep.join(filter(None, [value, env.get(key)])) if key == "PYTHONPATH" else value
        runner_log = workdir / "runner.log"
        started = time.monotonic()
        runner = PROCS.start(case.runner, cmd, env=env, cwd=cwd, log=runner_log)
        print(f"    runner pid {runner.pid}, emulator pid {emulator.pid}", file=sys.stderr, flush=True)
        db_conn = await asyncpg.connect(dsn)
        try:
            # 1. every bot reports it is polling
            deadline = started + args.ready_timeout + 0.1 * case.bots
            marker = READY_MARKERS[case.runner]
            while (ready := count_lines(runner_log, marker)) < case.bots:
                if runner.poll() is not None:
                    raise RuntimeError(f"{case.runner} runner exited with {runner.returncode}:\n{tail(runner_log)}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {ready}/{case.bots} bots polling after {deadline - started:.0f} s:\n"
                                       f"{tail(runner_log)}")
                await asyncio.sleep(0.1)
            result["bots_ready_s"] = round(time.monotonic() - started, 2)
            # 2. one warm-up message, confirmed by every bot and stored: everyone polls for real
            warm = await control.call("POST", "/control/post", post_body(0, "warmup"))
            confirmed = (await control.call("POST", "/control/wait_confirmed", {"timeout": 60}))["confirmed"]
            warm_deadline = time.monotonic() + 30
            while await stored_ids(db_conn, [warm["message_id"]]) < 1:
                if time.monotonic() > warm_deadline or runner.poll() is not None:
                    raise RuntimeError(f"warm-up message not stored (confirmed={confirmed}):\n{tail(runner_log)}")
                await asyncio.sleep(0.05)
            result["startup_s"] = round(time.monotonic() - started, 2)
            await asyncio.sleep(args.settle)

            # 3. the measured window
            emu_pid, pg_pid = emulator.pid, db.postmaster_pid()
            stats0 = await control.call("GET", "/control/stats")
            before = {"runner": cpu_seconds(runner.pid), "emulator": cpu_seconds(emu_pid),
                      "postgres": cpu_seconds(pg_pid), "bench": own_cpu_seconds(),
                      "machine": machine_busy()}
            load0 = os.getloadavg()
            sampler = RssSampler(runner.pid)
            sampler.start()
            t_start = time.monotonic()
            print(f"    window starts ({args.duration:g} s)", file=sys.stderr, flush=True)
            posted: list[dict[str, Any]] = []
            if case.rate is None:
                await asyncio.sleep(args.duration)
            else:
                posted, post_info = await post_steady(control, case.rate, args.duration)
                result.update(post_info)
            t_end = time.monotonic()
            window = t_end - t_start
            after = {"runner": cpu_seconds(runner.pid), "emulator": cpu_seconds(emu_pid),
                     "postgres": cpu_seconds(pg_pid), "bench": own_cpu_seconds(),
                     "machine": machine_busy()}
            stats1 = await control.call("GET", "/control/stats")
            load1 = os.getloadavg()
            result["window_s"] = round(window, 2)
            result["loadavg_1m_before"] = round(load0[0], 2)
            result["loadavg_1m_after"] = round(load1[0], 2)
            result["loadavg_5m_after"] = round(load1[1], 2)
            for key in ("runner", "emulator", "postgres", "bench"):
                if before[key] is not None and after[key] is not None:
                    result[f"{key}_cpu_s"] = round(after[key] - before[key], 3)
                    result[f"{key}_cpu_pct"] = round(100 * (after[key] - before[key]) / window, 1)
            busy = after["machine"][0] - before["machine"][0]
            total = after["machine"][1] - before["machine"][1]
            result["machine_busy_pct_of_all_cores"] = round(100 * busy / total, 1) if total else None
            result["peak_rss_mib"] = round(sampler.peaks.get("window", 0) / MIB, 1)
            polls = lambda s: sum(s["requests"].get("getUpdates", {}).values())  # noqa: E731
            result["getupdates_in_window"] = polls(stats1) - polls(stats0)
            result["updates_delivered_in_window"] = stats1["updates_delivered"] - stats0["updates_delivered"]
            result["unconfirmed_at_end"] = stats1["unconfirmed"]
            # The runner's own bots may talk (conversation): their sends, for the record.
            result["bot_sends_in_window"] = stats1.get("sent", 0) - stats0.get("sent", 0)

            if case.rate is None:
                if result["getupdates_in_window"]:
                    result["runner_cpu_ms_per_poll"] = round(
                        1000 * result["runner_cpu_s"] / result["getupdates_in_window"], 3)
            else:
                ids = [p["message_id"] for p in posted]
                result["stored_at_window_end"] = await stored_ids(db_conn, ids)
                result["backlog_at_window_end"] = len(ids) - result["stored_at_window_end"]
                # 4. drain: every copy confirmed, every posted message stored (bounded)
                sampler.phase = "drain"
                drain_deadline = t_end + args.drain_timeout
                stored = await stored_ids(db_conn, ids)
                while stored < len(ids) and time.monotonic() < drain_deadline and runner.poll() is None:
                    await asyncio.sleep(0.1)
                    stored = await stored_ids(db_conn, ids)
                drained = time.monotonic()
                # Every bot confirmed every update (offsets sent): the emulator's queues are empty.
                confirmed = (await control.call("POST", "/control/wait_confirmed",
                                                {"timeout": max(1.0, drain_deadline - time.monotonic())}))["confirmed"]
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
                if runner_total is not None and before["runner"] is not None:
                    result["runner_cpu_s_incl_drain"] = round(runner_total - before["runner"], 3)
                    if posted:
                        result["runner_cpu_ms_per_msg"] = round(
                            1000 * result["runner_cpu_s_incl_drain"] / len(posted), 3)
                        result["runner_cpu_ms_per_update"] = round(
                            result["runner_cpu_ms_per_msg"] / max(1, case.bots), 4)
                drain_peak = sampler.peaks.get("drain")
                result["peak_rss_mib_drain"] = round(drain_peak / MIB, 1) if drain_peak else None
            await sampler.stop()
            hwm = vm_hwm(runner.pid)
            result["vmhwm_mib"] = round(hwm / MIB, 1) if hwm else None
            result["runner_alive_at_end"] = runner.poll() is None

            # 5. stop the runner (it flushes), then count what is in the table
            stop_info = PROCS.stop(runner)
            result["runner_stop"] = stop_info
            runner = None
            result["runner_log"] = log_problems(runner_log, case.runner)
            if case.rate is not None:
                rows = await db_conn.fetch(
                    """SELECT telegram_message_id AS id, count(*) AS n,
                              extract(epoch FROM min(created_at))::float8 AS at
                       FROM messages WHERE chat_id = $1 AND telegram_message_id = ANY($2::bigint[])
                       GROUP BY 1""",
                    CHAT_ID, [p["message_id"] for p in posted])
                by_id = {row["id"]: row for row in rows}
                in_order = [round((by_id[p["message_id"]]["at"] - p["available_at"]) * 1000, 2)
                             if p["message_id"] in by_id else None for p in posted]
                latencies = sorted(v for v in in_order if v is not None)
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
                    in_window = sum(1 for p in posted if p["message_id"] in by_id
                                    and by_id[p["message_id"]]["at"] - posted[0]["available_at"] <= window)
                    result["stored_per_s_in_window"] = round(in_window / window, 2)
        finally:
            await db_conn.close()
        result["ok"] = True
    except Exception as error:  # noqa: BLE001 - the run is reported as failed, the others go on
        result["ok"] = False
        result["error"] = f"{type(error).__name__}: {error}"
    finally:
        if runner is not None:
            result.setdefault("runner_stop", PROCS.stop(runner))
        if control is not None:
            await control.close()
        if emulator is not None:
            PROCS.stop(emulator, timeout=10)
        if db_name is not None:
            with contextlib.suppress(Exception):
                await db.drop(db_name)
        if args.keep_logs:
            result["workdir"] = str(workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


# --------------------------------------------------------------------------- report

LOAD_COLUMNS = [
    ("posted", "posted"), ("stored", "stored"), ("lost", "lost"), ("duplicates", "dup"),
    ("latency_p50_ms", "P50 ms"), ("latency_p95_ms", "P95 ms"), ("latency_p99_ms", "P99 ms"),
    ("latency_max_ms", "max ms"), ("runner_cpu_pct", "runner CPU %"), ("runner_cpu_ms_per_msg", "runner CPU ms/msg"),
    ("peak_rss_mib", "peak RSS MiB"), ("vmhwm_mib", "VmHWM MiB"), ("backlog_at_window_end", "backlog at end"),
    ("drain_s", "all stored after s"), ("confirmed_after_s", "all confirmed after s"),
    ("emulator_cpu_pct", "emulator CPU %"), ("postgres_cpu_pct", "postgres CPU %"),
    ("machine_busy_pct_of_all_cores", "machine busy %"), ("loadavg_1m_before", "load 1m"),
]
IDLE_COLUMNS = [
    ("startup_s", "startup s"), ("runner_cpu_pct", "runner CPU %"), ("getupdates_in_window", "polls answered"),
    ("runner_cpu_ms_per_poll", "CPU ms/poll"), ("peak_rss_mib", "peak RSS MiB"), ("vmhwm_mib", "VmHWM MiB"),
    ("emulator_cpu_pct", "emulator CPU %"), ("machine_busy_pct_of_all_cores", "machine busy %"),
    ("loadavg_1m_before", "load 1m"),
]


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if r.get("ok")]
    out: dict[str, Any] = {"runs": len(runs), "ok_runs": len(ok)}
    keys = {k for r in ok for k, v in r.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for key in sorted(keys):
        values = [r[key] for r in ok if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool)]
        if values:
            out[key] = statistics.median(values)
    out["drain_timed_out_runs"] = sum(1 for r in ok if r.get("drain_timed_out"))
    return out


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if value == int(value) and abs(value) >= 100:
            return str(int(value))
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


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
            runs = f"{s['ok_runs']}/{s['runs']}" + (f" ({s['drain_timed_out_runs']} drain timeout)"
                                                    if s.get("drain_timed_out_runs") else "")
            lines.append(f"| {case.runner} | {case.bots} | {case.rate:g} | {runs} | "
                         + " | ".join(fmt(s.get(k)) for k, _ in LOAD_COLUMNS) + " |")
    if idle:
        lines.append(f"\nIdle: D = {duration:g} s, no traffic; medians over the runs.\n")
        lines.append("| runner | bots | runs | " + " | ".join(h for _, h in IDLE_COLUMNS) + " |")
        lines.append("|---" * (3 + len(IDLE_COLUMNS)) + "|")
        for case in idle:
            s = summary[case.label]
            lines.append(f"| {case.runner} | {case.bots} | {s['ok_runs']}/{s['runs']} | "
                         + " | ".join(fmt(s.get(k)) for k, _ in IDLE_COLUMNS) + " |")
    return "\n".join(lines)


def machine_info(db: Database) -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in ("aiogram", "aiohttp", "asyncpg", "pydantic"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[package] = version(package)
    info = {"nproc": os.cpu_count(), "cpu_model": model, "python": platform.python_version(),
            "platform": platform.platform(), "memory_mib": round(psutil.virtual_memory().total / MIB),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()], **versions,
            "postgres": "DATABASE_URL" if db.external else "embedded (pgserver)"}
    with contextlib.suppress(Exception):
        info["postgres_version"] = db.version()
    return info


# --------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingest", description=__doc__,
                                     epilog="Cases run round-robin: repeat k of every case before repeat k+1.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runner", nargs="+", choices=sorted(READY_MARKERS), default=["piyasa"],
                        help="runner(s) under test (default piyasa)")
    parser.add_argument("--bots", nargs="+", type=int, default=[50], help="bots in the group (default 50)")
    parser.add_argument("--rate", nargs="+", type=float, default=[5.0], help="human messages per second (default 5)")
    parser.add_argument("--idle", action="store_true", help="no traffic: measure polling cost only")
    parser.add_argument("--case", action="append", type=Case.parse, default=[], metavar="RUNNER:BOTS:RATE",
                        help="explicit case, repeatable (RATE may be 'idle'); replaces --runner/--bots/--rate")
    parser.add_argument("--duration", type=float, default=30.0, help="posting (or idle) window D in s (default 30)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; medians are reported (default 1)")
    parser.add_argument("--drain-timeout", type=float, default=60.0,
                        help="after posting, wait at most this long for every message to be stored (default 60)")
    parser.add_argument("--ready-timeout", type=float, default=60.0,
                        help="wait this long (+0.1 s a bot) for every bot to poll (default 60)")
    parser.add_argument("--settle", type=float, default=2.0, help="pause after the warm-up message (default 2 s)")
    parser.add_argument("--plain-polling-timeout", type=int, default=25, help="getUpdates timeout of the plain runner")
    parser.add_argument("--log-level", default="INFO", help="piyasa runner log level (default INFO)")
    parser.add_argument("--json", type=Path, help="write every run's raw results here")
    parser.add_argument("--live", action="store_true",
                        help="run the checkout as it is on disk instead of a snapshot taken at the start")
    parser.add_argument("--keep-code", action="store_true", help="keep the code snapshot (its path is printed)")
    parser.add_argument("--code", type=Path, help="run an earlier kept snapshot instead of taking one")
    parser.add_argument("--runner-env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for the runner process only (diagnostics), repeatable")
    parser.add_argument("--keep-logs", action="store_true", help="keep each run's temp dir (runner/emulator logs)")
    return parser


def expand_cases(args: argparse.Namespace) -> list[Case]:
    if args.case:
        return list(dict.fromkeys(args.case))
    rates: list[float | None] = [None] if args.idle else list(args.rate)
    return [Case(r, n, rate) for r in args.runner for n in args.bots for rate in rates]


async def run_all(cases: list[Case], db: Database, args: argparse.Namespace,
                  results: dict[str, list[dict[str, Any]]]) -> None:
    total = len(cases) * args.repeat
    done = 0
    for repeat in range(args.repeat):
        for case in cases:
            done += 1
            print(f"[{done}/{total}] {case.label} run {repeat + 1}/{args.repeat} "
                  f"(load {os.getloadavg()[0]:.2f}) ...", file=sys.stderr, flush=True)
            budget = args.duration + args.drain_timeout + args.ready_timeout + 0.1 * case.bots + 180
            try:
                result = await asyncio.wait_for(run_once(case, db, args, repeat), budget)
            except TimeoutError:
                result = {"case": case.label, "ok": False, "error": f"run exceeded {budget:.0f} s"}
            results[case.label].append(result)
            brief = {k: result.get(k) for k in ("ok", "error", "posted", "stored", "lost", "latency_p50_ms",
                                                 "latency_p99_ms", "runner_cpu_pct", "peak_rss_mib",
                                                 "backlog_at_window_end", "drain_s") if k in result}
            print(f"    {json.dumps(brief, ensure_ascii=False)}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cases = expand_cases(args)
    # SIGTERM unwinds like Ctrl-C, so the finally below stops every child. SIGINT is
    # set explicitly: a shell starts background jobs with it ignored.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    db = Database()
    results: dict[str, list[dict[str, Any]]] = {case.label: [] for case in cases}
    started = time.time()
    info: dict[str, Any] = {}
    interrupted = False
    try:
        if not args.live:
            SNAPSHOT.take(args.code, args.keep_code)
        db.start()
        info = machine_info(db)
        info["code"] = SNAPSHOT.digest or "live checkout"
        info["code_taken_at"] = SNAPSHOT.taken_at or None
        print(f"machine: {info['nproc']} cores, {info['cpu_model']}, Python {info['python']}, "
              f"aiogram {info.get('aiogram')}, load {info['loadavg_at_start']}", file=sys.stderr)
        asyncio.run(run_all(cases, db, args, results))
    except KeyboardInterrupt:
        interrupted = True
        print("interrupted: stopping everything started here", file=sys.stderr)
    finally:
        PROCS.stop_all()
        db.stop()
        SNAPSHOT.remove()
    summary = {label: medians(runs) for label, runs in results.items()}
    info["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    info["wall_s"] = round(time.time() - started, 1)
    report = markdown(cases, summary, args.duration)
    print(f"\nmachine: {info.get('nproc')} cores ({info.get('cpu_model')}), Python {info.get('python')}, "
          f"aiogram {info.get('aiogram')}, PostgreSQL {info.get('postgres_version', '?')} ({info.get('postgres')}); "
          f"load average at start {info.get('loadavg_at_start')}, at end {info['loadavg_at_end']}; "
          f"code {info.get('code')} (piyasa_bot/ + sql/ sha256, taken {info.get('code_taken_at')}); "
          f"wall {info['wall_s']} s\n")
    print(report)
    failed = [r for runs in results.values() for r in runs if not r.get("ok")]
    for r in failed:
        print(f"\nFAILED {r.get('case')} run {r.get('repeat')}: {r.get('error')}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": info, "argv": sys.argv, "args": {
            k: (str(v) if isinstance(v, Path) else [c.label for c in v] if k == "case" else v)
            for k, v in vars(args).items()}, "summary": summary, "runs": results}, indent=1, ensure_ascii=False),
            encoding="utf-8")
    return 130 if interrupted else (1 if failed else 0)


if __name__ == "__main__":
    raise SystemExit(main())
