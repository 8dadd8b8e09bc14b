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

The code under test (piyasa_bot/, sql/, the soak's three files) is copied first, so a
checkout that changes during the hour does not change what runs.
Small duplication of benchmarks/ingest.py's process, emulator and snapshot
helpers: they move onto benchmarks/lib once that lands.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.soak_report import MIB, figures, markdown

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "soak"
CHAT_ID = -1001000000077

# --------------------------------------------------------------------------- processes (as benchmarks/ingest.py)


class Processes:
    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []
        self.postgres: Any = None  # an embedded server started here

    def start(self, cmd: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
        with open(log, "wb") as out:
            proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.running.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> dict[str, Any]:
        if proc in self.running:
            self.running.remove(proc)
        if proc.poll() is not None:
            return {"exit": proc.returncode, "stop_s": 0.0, "killed": False}
        started = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
            killed = False
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
            killed = True
        return {"exit": proc.returncode, "stop_s": round(time.monotonic() - started, 2), "killed": killed}

    def stop_all(self) -> None:
        for proc in reversed(list(self.running)):
            self.stop(proc, timeout=10.0)
        if self.postgres is not None:
            with contextlib.suppress(Exception):
                self.postgres.stop()
            self.postgres = None


def snapshot_code(into: Path) -> str:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("piyasa_bot", "sql"):
        shutil.copytree(ROOT / folder, into / folder, ignore=ignore)
    (into / "benchmarks").mkdir()
    for name in ("__init__.py", "soak.py", "soak_heap.py", "soak_report.py"):
        shutil.copy2(ROOT / "benchmarks" / name, into / "benchmarks" / name)
    digest = hashlib.sha256()
    for path in sorted(into.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".sql"):
            digest.update(str(path.relative_to(into)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


async def wait_for_line(log: Path, proc: subprocess.Popen[bytes], prefix: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith(prefix):
                return line.strip()
        await asyncio.sleep(0.05)
    raise RuntimeError(f"no {prefix!r} line within {timeout:g} s in {log}")


# --------------------------------------------------------------------------- the soak


def crowd_spec(args: argparse.Namespace, seconds: float) -> dict[str, Any]:
    normal, mention, reply = (int(n) for n in args.mix.split(":"))
    per_minute = normal * 1.5 + (mention + reply) * 2.5  # CrowdSpec's default ranges, (1, 2) and (2, 3)
    return {"chat_id": CHAT_ID, "normal": normal, "mention": mention, "reply": reply, "duration": seconds,
            "rate_multiplier": args.rate * 60 / per_minute, "seed": args.seed}


def roster(names: list[str]) -> str:
    import yaml

    bots = [{"name": n, "token": "${" + f"{n.upper()}_TOKEN" + "}", "chats": [CHAT_ID]} for n in names]
    return yaml.safe_dump({"chats": [{"id": CHAT_ID, "title": "Soak"}], "bots": bots}, sort_keys=False)


async def soak(args: argparse.Namespace, workdir: Path, procs: Processes) -> dict[str, Any]:
    import aiohttp
    import asyncpg
    import psutil

    code = workdir / "code"
    digest = snapshot_code(code)
    sys.path.insert(0, str(code))
    from piyasa_bot.crypto import generate_key
    from piyasa_bot.db.pool import fresh_database

    env = {k: v for k, v in os.environ.items() if not k.startswith("PIYASA_") and k != "DATABASE_URL"}
    env["PYTHONPATH"] = str(code)
    server_dsn = os.environ.get("DATABASE_URL")
    if server_dsn is None:
        from piyasa_bot.db.embedded import EmbeddedPostgres

        (workdir / "pg").mkdir(mode=0o755)
        procs.postgres = EmbeddedPostgres(workdir / "pg", stop_at_exit=True)
        server_dsn = procs.postgres.dsn()
    dsn = await fresh_database(server_dsn, f"soak_{os.getpid()}")
    emulator = procs.start([sys.executable, "-m", "piyasa_bot.sandbox", "--port", "0", "--seed", str(args.seed)],
                           env=env, cwd=workdir, log=workdir / "emulator.log")
    api = await wait_for_line(workdir / "emulator.log", emulator, "http://", 60)
    http = aiohttp.ClientSession(base_url=api, timeout=aiohttp.ClientTimeout(total=120))

    async def call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with http.request(method, path, json=body) as resp:
            data = await resp.json()
            if resp.status >= 400:
                raise RuntimeError(f"{method} {path}: {resp.status} {data}")
            return data

    try:
        names = [f"s{i:03d}" for i in range(args.bots)]
        tokens = {n: (await call("POST", "/control/bots", {"name": n, "username": f"{n}_soak_bot",
                                                           "privacy": False}))["token"] for n in names}
        await call("POST", "/control/chats", {"id": CHAT_ID, "title": "Soak", "type": "supergroup", "members": names})
        (workdir / "bots.yaml").write_text(roster(names), encoding="utf-8")
        env.update({"DATABASE_URL": dsn, "PIYASA_CONFIG": str(workdir / "bots.yaml"), "PIYASA_TELEGRAM_API": api,
                    "PIYASA_SECRET_KEY": generate_key(), "PIYASA_DATA_DIR": str(workdir / "data")})
        env.update({f"{n.upper()}_TOKEN": token for n, token in tokens.items()})
        started = time.time()
        warmup_end = started + args.warmup * 60
        stats = workdir / "heap.jsonl"
        sampled = [sys.executable, "-m", "benchmarks.soak_heap", "--stats", str(stats), "--every", str(args.every),
                   "--census-every", str(args.census_every), "--warmup-end", str(warmup_end),
                   "--tracemalloc", str(args.tracemalloc), *(["--collect"] if args.collect else [])]
        runner = procs.start([*sampled, "--", "--log-level", "WARNING", "run"], env=env, cwd=workdir,
                             log=workdir / "runner.log")
        # Ready when every bot polled past a warm-up message: the emulator says so.
        await call("POST", "/control/post", {"chat_id": CHAT_ID, "user_id": 99, "text": "merhaba, başlıyoruz"})
        while not (await call("POST", "/control/wait_confirmed", {"timeout": 2}))["confirmed"]:
            if runner.poll() is not None or time.time() - started > 120 + args.bots:
                raise RuntimeError(f"the bots did not confirm the warm-up message (runner exit {runner.poll()}): "
                                   f"{(workdir / 'runner.log').read_text(errors='replace')[-2000:]}")
        ready_s = time.time() - started
        await call("POST", "/control/crowd", crowd_spec(args, args.minutes * 60))
        crowd_ends = time.time() + args.minutes * 60
        proc, samples = psutil.Process(runner.pid), []
        print(f"soak: ready after {ready_s:.1f} s; {args.minutes:g} min at {args.rate:g} msg/s, runner pid {runner.pid}",
              file=sys.stderr, flush=True)
        while True:
            # /control/stats is cheap; /control/crowd returns every post so far (asked once, at the end).
            posted = (await call("GET", "/control/stats"))["posted"]
            if runner.poll() is not None:
                raise RuntimeError(f"the runner exited with {runner.returncode}: "
                                   f"{(workdir / 'runner.log').read_text(errors='replace')[-2000:]}")
            cpu = proc.cpu_times()
            samples.append({"t": time.time(), "rss": proc.memory_info().rss, "cpu_s": cpu.user + cpu.system,
                            "posted": posted})
            if len(samples) % max(1, round(60 / args.every)) == 0:
                print(f"  {(samples[-1]['t'] - started) / 60:5.1f} min  RSS {samples[-1]['rss'] / MIB:6.1f} MiB  "
                      f"posted {posted}", file=sys.stderr, flush=True)
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
        return {"code": digest, "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
                "started": started, "ready_s": round(ready_s, 1), "warmup_end": warmup_end, "samples": samples,
                "heap": heap, "posted": crowd["posted"] + 1, "crowd": crowd["by_kind"], "stored": stored, "all_confirmed": confirmed,
                "runner_stop": stop, "log_warnings_errors": sum('"level": "warning"' in x or '"level": "error"' in x
                                                                 for x in log)}
    finally:
        await http.close()
        procs.stop(emulator)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=34.0, help="people's messages a second, on average")
    parser.add_argument("--bots", type=int, default=50)
    parser.add_argument("--mix", default="60:20:20", help="people normal:mention:reply (the reference load test's)")
    parser.add_argument("--warmup", type=float, default=None, help="minutes left out of the slopes (default 10, "
                                                                    "a third of shorter runs)")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--census-every", type=float, default=60.0, help="seconds between object censuses")
    parser.add_argument("--tracemalloc", type=int, default=0, help="trace allocations with N frames (slows the "
                                                                    "runner, inflates RSS; off by default)")
    parser.add_argument("--collect", action="store_true", help="gc.collect() before each census: count only "
                                                                "what is reachable (changes the runner's gc)")
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
    workdir = Path(tempfile.mkdtemp(prefix="piyasa-soak-", dir="/tmp"))
    os.chmod(workdir, 0o755)  # pgserver may run PostgreSQL as another user
    procs = Processes()
    try:
        run = asyncio.run(soak(args, workdir, procs))
    finally:
        procs.stop_all()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    result = {"command": "python -m benchmarks.soak " + " ".join(argv), "args": vars(args) | {"out": str(args.out)},
              "machine": f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
              **{k: v for k, v in run.items() if k not in ("samples", "heap")}}
    result["figures"] = figures(run, args)
    result["samples"] = run["samples"]
    result["heap"] = [{k: v for k, v in h.items() if k != "census"} for h in run["heap"]]
    args.out.mkdir(parents=True, exist_ok=True)
    stem = str(args.out / f"soak-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(run['started']))}-{args.minutes:g}min")
    Path(stem + ".json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    Path(stem + ".md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    print(f"written: {stem}.json, {stem}.md", file=sys.stderr)
    return 0 if result["figures"]["verdict"] == "flat" else 1


if __name__ == "__main__":
    raise SystemExit(main())
