"""Fleet: how fast the others take over a SIGKILLed runner's bots, and what 1, 2 and 3 runners ingest.

    python -m benchmarks.fleet                                   # 10 kills; 1, 2, 3 runners at 100 msg/s, 30 s
    python -m benchmarks.fleet --kills 2 --duration 20           # a short proof of the script
    python -m benchmarks.fleet --only ingest --rates 50 100 200  # a rising rate per fleet size

Processes: PostgreSQL (embedded pgserver, or DATABASE_URL), the Bot API
emulator (`python -m piyasa_bot.sandbox`, a long poll answered after
`--longest-poll` s at most) and the runners (`python -m piyasa_bot run`),
each with a PIYASA_FLEET_HOST of its own, so that only the heartbeat tells a
death, as between machines. Every part gets a fresh database and emulator.

Takeover: three runners, people posting `--kill-rate` messages a second;
`--kills` times a random runner holding bots is SIGKILLed after `--up` min:max
s; the takeover is the time from the kill to the first getUpdates of each of
its bots by another runner (the emulator's records: each request names its
runner); then a new runner is started and the fleet settles again. At the end:
people's messages lost or stored twice.

Ingest: for each fleet size (`--runners`) and rate (`--rates`), people's
messages (privacy off: every bot gets a copy) posted on a steady schedule for
`--duration` s; stored per second over the window, latency from the
emulator's `available_at` to the row's `created_at` (P50/P99), lost,
duplicates, which runner stored the rows (messages.stored_by), the runners' CPU.

The code under test is copied first (benchmarks/lib/snapshot.py). Results:
benchmarks/results/fleet/*.json and *.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.ingest_traffic import CHAT_ID, post_body, post_steady, stored_ids, stored_rows
from benchmarks.lib.database import DatabaseServer, create_database, drop_database
from benchmarks.lib.emulator import Control, start_emulator
from benchmarks.lib.figures import fmt, percentile, summary
from benchmarks.lib.fleet import Fleet, polls
from benchmarks.lib.machine import machine_info
from benchmarks.lib.processes import Processes, cpu_seconds
from benchmarks.lib.results import write_results
from benchmarks.lib.snapshot import Snapshot
from benchmarks.lib.workdir import work_folder

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "fleet"


class Part:
    """What a part of the benchmark runs on: a fresh database and emulator, a roster, a fleet (none started)."""

    def __init__(self, fleet: Fleet, control: Control, bots: list[str], dsn: str) -> None:
        self.fleet, self.control, self.bots, self.dsn = fleet, control, bots, dsn


@contextlib.asynccontextmanager
async def part(args: argparse.Namespace, procs: Processes, code: Snapshot, db: DatabaseServer, folder: Path
               ) -> AsyncIterator[Part]:  # fmt: skip
    from piyasa_bot.crypto import generate_key

    folder.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIYASA_") and k != "DATABASE_URL"}
    env.update(code.env())
    name, dsn = await create_database(db.dsn)
    emulator, api = await start_emulator(procs, folder, env, seed=args.seed, longest_poll=args.longest_poll)
    control = Control(api)
    fleet: Fleet | None = None
    try:
        bots = [f"f{i:03d}" for i in range(args.bots)]
        bots_env = await control.supergroup_roster(
            bots, CHAT_ID, "Fleet", privacy=False, username_suffix="fleet_bot", config=folder / "bots.yaml"
        )
        env.update(
            {"DATABASE_URL": dsn, "PIYASA_TELEGRAM_API": api, "PIYASA_SECRET_KEY": generate_key(),
             "PIYASA_DATA_DIR": str(folder / "data"), **bots_env}
        )  # fmt: skip
        fleet = Fleet(procs, folder, env, control, dsn, CHAT_ID)
        yield Part(fleet, control, bots, dsn)
    finally:
        if fleet is not None:
            fleet.stop_all()
        await control.close()
        procs.stop(emulator, timeout=10)
        with contextlib.suppress(Exception):
            await drop_database(db.dsn, name)


async def start_fleet(p: Part, size: int) -> dict[str, str]:
    await asyncio.gather(*(p.fleet.start() for _ in range(size)))
    return await p.fleet.settled(p.bots)


async def lost_and_twice(dsn: str, ids: list[int]) -> tuple[int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await stored_rows(conn, ids)
    finally:
        await conn.close()
    return len(ids) - len(rows), sum(1 for row in rows if row["n"] > 1)


# --------------------------------------------------------------------------- takeover


class Poster:
    """People's messages at a steady `rate` until stopped; the message ids posted."""

    def __init__(self, control: Control, rate: float) -> None:
        self.control, self.rate, self.ids = control, rate, []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        i = 0
        while True:
            answer = await self.control.call("POST", "/control/post", post_body(i, "k"))
            self.ids.append(int(answer["message_id"]))
            i += 1
            await asyncio.sleep(1 / self.rate)

    async def stop(self) -> list[int]:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        return list(self.ids)


async def takeover(args: argparse.Namespace, p: Part) -> dict[str, Any]:
    rng = random.Random(args.seed)
    low, high = (float(x) for x in args.up.split(":"))
    await start_fleet(p, 3)
    poster = Poster(p.control, args.kill_rate)
    kills: list[dict[str, Any]] = []
    try:
        for index in range(1, args.kills + 1):
            await asyncio.sleep(rng.uniform(low, high))
            leases = await p.fleet.leases()
            holding = [m for m in p.fleet.live if any(k == "bot" and o == m.id for (k, _), o in leases.items())]
            victim = rng.choice(holding)
            its_bots = {key for (kind, key), owner in leases.items() if kind == "bot" and owner == victim.id}
            killed_at = p.fleet.kill(victim)
            first: dict[str, float] = {}
            deadline = time.monotonic() + 60
            while first.keys() != its_bots and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                for poll in await polls(p.control, killed_at):
                    if poll["bot"] in its_bots and poll["runner"] != victim.id:
                        first.setdefault(poll["bot"], poll["arrived_at"] - killed_at)
            await p.fleet.start()
            await p.fleet.settled(p.bots)
            kill = {
                "bots": len(its_bots),
                "taken_over": len(first),
                "takeover_s": round(max(first.values()), 2) if first.keys() == its_bots else None,
                "first_s": round(min(first.values()), 2) if first else None,
                "settled_again_s": round(time.time() - killed_at, 2),
            }
            kills.append(kill)
            print(f"  kill {index}: {kill}", file=sys.stderr, flush=True)
    finally:
        ids = await poster.stop()
    confirmed = await p.control.wait_confirmed(60)
    lost, twice = await lost_and_twice(p.dsn, ids)
    times = [k["takeover_s"] for k in kills if k["takeover_s"] is not None]
    return {
        "kills": kills,
        "takeover_s": summary(times, 2),
        "takeover_median_s": round(statistics.median(times), 2) if times else None,
        "never_taken_over": sum(1 for k in kills if k["takeover_s"] is None),
        "first_bot_s": summary([k["first_s"] for k in kills if k["first_s"] is not None], 2),
        "posted": len(ids),
        "confirmed": confirmed,
        "lost": lost,
        "stored_twice": twice,
    }


# --------------------------------------------------------------------------- ingest


async def ingest(args: argparse.Namespace, p: Part, size: int, rate: float) -> dict[str, Any]:
    owners = await start_fleet(p, size)
    conn = await asyncpg.connect(p.dsn)
    try:
        warm = await p.control.call("POST", "/control/post", post_body(0, "warmup"))
        await p.control.wait_confirmed(60)
        while await stored_ids(conn, [warm["message_id"]]) < 1:
            await asyncio.sleep(0.05)
        cpu0 = {m.id: cpu_seconds(m.proc.pid) or 0.0 for m in p.fleet.live}
        started = time.monotonic()
        posted, info = await post_steady(p.control, rate, args.duration)
        window = time.monotonic() - started
        cpu = sum((cpu_seconds(m.proc.pid) or 0.0) - cpu0[m.id] for m in p.fleet.live)
        ids = [post["message_id"] for post in posted]
        deadline = time.monotonic() + args.drain_timeout
        while await stored_ids(conn, ids) < len(ids) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        drain_s = round(time.monotonic() - started - window, 2)
        rows = {row["id"]: row for row in await stored_rows(conn, ids)}
        by_runner = await conn.fetch(
            "SELECT stored_by, count(*) AS n FROM messages"
            " WHERE chat_id = $1 AND is_incoming AND telegram_message_id = ANY($2::bigint[]) GROUP BY 1",
            CHAT_ID,
            ids,
        )
    finally:
        await conn.close()
    latencies = [
        (rows[p_["message_id"]]["at"] - p_["available_at"]) * 1000 for p_ in posted if p_["message_id"] in rows
    ]
    t0 = posted[0]["available_at"] if posted else 0.0
    in_window = sum(1 for row in rows.values() if row["at"] - t0 <= window)
    return {
        "runners": size,
        "rate": rate,
        "posted": len(ids),
        "achieved_rate": info.get("achieved_rate"),
        "stored": len(rows),
        "lost": len(ids) - len(rows),
        "duplicates": sum(1 for row in rows.values() if row["n"] > 1),
        "stored_per_s": round(in_window / window, 1) if window else None,
        "drain_s": drain_s,
        **{f"latency_{q}_ms": _ms(percentile(latencies, share)) for q, share in (("p50", 0.5), ("p99", 0.99))},
        "latency_max_ms": _ms(max(latencies)) if latencies else None,
        "runners_cpu_pct": round(100 * cpu / window, 1) if window else None,
        "stored_by": sorted((int(r["n"]) for r in by_runner), reverse=True),
        "bots_per_runner": sorted(Counter(owners.values()).values(), reverse=True),
    }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# --------------------------------------------------------------------------- report


def markdown(result: dict[str, Any]) -> str:
    lines = [f"`{result['command']}` ({result['machine']}, code {result['code']})", ""]
    if (t := result.get("takeover")) is not None:
        times = t["takeover_s"]
        lines += [
            f"## Takeover after a SIGKILL ({result['bots']} bots, 3 runners on distinct hosts)",
            "",
            "| | |",
            "|---|---|",
            f"| kills | {len(t['kills'])} |",
            f"| takeover (kill → every bot of it polled by another runner), median / max s"
            f" | {fmt(t['takeover_median_s'])} / {fmt(times['max'])} |",
            f"| first of its bots polled again, median s | {fmt(t['first_bot_s']['p50'])} |",
            f"| bots moved per kill | {', '.join(str(k['bots']) for k in t['kills'])} |",
            f"| kills whose bots were not all taken over within 60 s | {t['never_taken_over']} |",
            f"| people's messages posted / lost / stored twice | {t['posted']} / {t['lost']} / {t['stored_twice']} |",
            "",
        ]
    if result.get("ingest"):
        lines += [
            f"## Ingest ({result['bots']} bots, privacy off, {result['duration']:g} s per case)",
            "",
            "| runners | msg/s posted | stored/s | lost | dup | P50 ms | P99 ms | max ms | runners' CPU % "
            "| rows stored by each runner | bots per runner |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for case in result["ingest"]:
            if not case.get("ok", True):
                lines.append(f"| {case['runners']} | {case['rate']:g} | failed: {case['error']} |")
                continue
            lines.append(
                f"| {case['runners']} | {fmt(case['achieved_rate'])} | {fmt(case['stored_per_s'])} | {case['lost']} "
                f"| {case['duplicates']} | {fmt(case['latency_p50_ms'])} | {fmt(case['latency_p99_ms'])} "
                f"| {fmt(case['latency_max_ms'])} | {fmt(case['runners_cpu_pct'])} "
                f"| {' / '.join(map(str, case['stored_by']))} | {' / '.join(map(str, case['bots_per_runner']))} |"
            )
    return "\n".join(lines) + "\n"


async def run(args: argparse.Namespace, workdir: Path, procs: Processes, code: Snapshot) -> dict[str, Any]:
    db = DatabaseServer("piyasa-fleet-pg-")
    db.start()
    result: dict[str, Any] = {}
    try:
        if args.only in (None, "takeover"):
            print(f"takeover: {args.kills} kills", file=sys.stderr, flush=True)
            async with part(args, procs, code, db, workdir / "takeover") as p:
                result["takeover"] = await takeover(args, p)
        if args.only in (None, "ingest"):
            result["ingest"] = []
            for size in args.runners:
                for rate in args.rates:
                    print(f"ingest: {size} runner(s) at {rate:g} msg/s", file=sys.stderr, flush=True)
                    try:
                        async with part(args, procs, code, db, workdir / f"ingest-{size}-{rate:g}") as p:
                            case = await ingest(args, p, size, rate)
                    except Exception as error:  # noqa: BLE001 - reported, the other cases go on
                        case = {"runners": size, "rate": rate, "ok": False, "error": f"{type(error).__name__}: {error}"}
                    print(f"  {json.dumps(case)}", file=sys.stderr, flush=True)
                    result["ingest"].append(case)
    finally:
        procs.stop_all()
        db.stop()
    return result


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fleet", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["takeover", "ingest"], default=None)
    parser.add_argument("--bots", type=int, default=12)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--up", default="3:8", help="min:max seconds between a settled fleet and the next kill")
    parser.add_argument("--kill-rate", type=float, default=5.0, help="people's messages a second during the kills")
    parser.add_argument("--runners", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--rates", type=float, nargs="+", default=[100.0], help="people's messages a second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of posting per ingest case")
    parser.add_argument("--drain-timeout", type=float, default=60.0)
    parser.add_argument("--longest-poll", type=float, default=10.0, help="the emulator answers a long poll by then")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (the runners' logs)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    procs, code = Processes(), Snapshot()
    code.take()
    started = time.time()
    with work_folder("piyasa-fleet-", keep=args.keep) as workdir:
        try:
            parts = asyncio.run(run(args, workdir, procs, code))
        finally:
            procs.stop_all()
            code.remove()
    info = machine_info()
    result = {
        "command": "python -m benchmarks.fleet " + " ".join(argv),
        "machine": f"{info['nproc']} cores, {info['cpu_model']}, load {os.getloadavg()[0]:.2f}",
        "code": code.digest,
        "bots": args.bots,
        "duration": args.duration,
        "seconds": round(time.time() - started, 1),
        **parts,
    }
    write_results(args.out, "fleet", started, result, markdown(result))
    takeover_ok = "takeover" not in parts or (
        parts["takeover"]["never_taken_over"] == 0 and not parts["takeover"]["lost"]
    )
    ingest_ok = all(case.get("ok", True) and not case["lost"] for case in parts.get("ingest", []))
    return 0 if takeover_ok and ingest_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
