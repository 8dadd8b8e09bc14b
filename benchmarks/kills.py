"""Kills: random SIGKILLs of the runner during a stream of mentions; is everyone answered once?

    python -m benchmarks.kills                               # 10 kills, 10 privacy-on bots, a 3 s model
    python -m benchmarks.kills --kills 3 --up 4:8            # a short proof of the script
    python -m benchmarks.kills --privacy off --model-delay 0 # every bot sees everything; templates

Processes: PostgreSQL (embedded pgserver, or DATABASE_URL), the Bot API
emulator (`python -m piyasa_bot.sandbox`) whose Crowd posts the people
(`--mix` normal:mention:reply; mention and reply people address a bot), and
the runner (`python -m piyasa_bot run`, as an operator starts it), whose text
source is a language model served here that takes `--model-delay` s to
answer (0: the templates). The runner is killed (SIGKILL, its whole process
group) after a random uptime (`--up` min:max s, each run counted from the
moment every bot polled again), left down for a random `--down` min:max s
while the crowd goes on, and started again, `--kills` times; then it runs
until every addressed message is answered (or `--tail` s), and is stopped
with SIGTERM.

Measured from the emulator, as the people saw it: addressed messages posted;
answered once, twice or more (sent messages of the addressed bot replying to
the message), never; the latency of the first answer; people's messages lost
(delivered to a bot, not stored) or stored twice (from the database); outbox
rows closed by the unknown-outcome rule; answers recovered at start (the
runner's log). Goal: at most 1 in 500 answered twice, none never answered.
Results: benchmarks/results/kills/*.json and *.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from aiohttp import web

from benchmarks.lib.database import DatabaseServer
from benchmarks.lib.emulator import Control, start_emulator
from benchmarks.lib.figures import share, summary
from benchmarks.lib.processes import Processes, tail
from benchmarks.lib.results import write_results
from benchmarks.lib.snapshot import Snapshot
from benchmarks.lib.workdir import work_folder

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "kills"
CHAT_ID = -1001000000088
GOAL_TWICE = 1 / 500


class SlowModel:
    """An OpenAI-compatible chat-completions endpoint that answers after `delay` s."""

    def __init__(self, delay: float) -> None:
        self.delay, self.calls = delay, 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._answer)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}/v1"

    async def _answer(self, request: web.Request) -> web.Response:
        await request.read()
        self.calls += 1
        n = self.calls
        await asyncio.sleep(self.delay)
        text = f"Bence {n}. soruda da temkinli olmak lazım, seviyeler netleşmeden acele etmem."
        return web.json_response({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def span(text: str) -> tuple[float, float]:
    low, high = (float(x) for x in text.split(":"))
    return low, high


async def kills(args: argparse.Namespace, workdir: Path, procs: Processes, code: Snapshot) -> dict[str, Any]:
    import asyncpg

    from piyasa_bot.crypto import generate_key
    from piyasa_bot.db.pool import fresh_database

    rng = random.Random(args.seed)
    ups = [rng.uniform(*span(args.up)) for _ in range(args.kills)]
    downs = [rng.uniform(*span(args.down)) for _ in range(args.kills)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIYASA_") and k != "DATABASE_URL"}
    env.update(code.env())
    database = DatabaseServer("piyasa-kills-pg-")
    model = SlowModel(args.model_delay)
    dsn = await fresh_database(database.start(), f"kills_{os.getpid()}")
    emulator, api = await start_emulator(procs, workdir, env, seed=args.seed)
    control = Control(api)
    call = control.call
    try:
        names = [f"k{i:03d}" for i in range(args.bots)]
        bots_env = await control.supergroup_roster(
            names,
            CHAT_ID,
            "Kills",
            privacy=args.privacy == "on",
            username_suffix="kill_bot",
            config=workdir / "bots.yaml",
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
        if args.model_delay > 0:
            env.update({"PIYASA_LLM_BASE_URL": await model.start(), "PIYASA_LLM_MODEL": "slow"})
        runs: list[dict[str, Any]] = []

        async def start(index: int) -> Any:
            started = time.time()
            proc = procs.start(
                "runner", [sys.executable, "-m", "piyasa_bot", "run"], env=env, cwd=workdir,
                log=workdir / f"runner-{index:02d}.log",
            )  # fmt: skip
            while True:  # ready when every bot polled since this start: the emulator says so
                polling = (await call("GET", "/control/polling"))["per_bot"]
                if all((p["last_poll_at"] or 0) > started for p in polling.values()):
                    break
                if proc.poll() is not None or time.time() - started > 60:
                    raise RuntimeError(f"runner {index} not polling: {tail(workdir / f'runner-{index:02d}.log')}")
                await asyncio.sleep(0.1)
            runs.append({"ready_s": round(time.time() - started, 2)})
            return proc

        proc = await start(0)
        crowd_s = sum(ups) + sum(downs) + 3 * args.kills + args.tail_crowd  # ~3 s for each start to be ready
        normal, mention, reply = (int(n) for n in args.mix.split(":"))
        per_minute = normal * 1.5 + (mention + reply) * 2.5  # CrowdSpec's default ranges, (1, 2) and (2, 3)
        await call(
            "POST",
            "/control/crowd",
            {"chat_id": CHAT_ID, "normal": normal, "mention": mention, "reply": reply, "duration": crowd_s,
             "rate_multiplier": args.rate * 60 / per_minute, "seed": args.seed},
        )  # fmt: skip
        print(f"kills: crowd for {crowd_s:.0f} s at {args.rate:g} msg/s; {args.kills} kills", file=sys.stderr)
        for index, (up, down) in enumerate(zip(ups, downs, strict=True), start=1):
            await asyncio.sleep(up)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
            procs.stop(proc)  # forgets it (it has ended)
            runs[-1].update(up_s=round(up, 2), down_s=round(down, 2))
            print(f"  kill {index} after {up:.1f} s up; down {down:.1f} s", file=sys.stderr, flush=True)
            await asyncio.sleep(down)
            proc = await start(index)
        crowd = await call("GET", f"/control/crowd?wait={crowd_s + 60:.0f}")
        addressed = [p for p in crowd["result"]["posts"] if p["addressed"]]
        deadline = time.time() + args.tail

        def replies(sent: list[dict[str, Any]]) -> Counter[tuple[str, int]]:
            return Counter((s["bot_name"], s["reply_to_message_id"]) for s in sent if s["reply_to_message_id"])

        while True:
            sent = (await call("GET", "/control/sent"))["messages"]
            answered = replies(sent)
            if all(answered[(p["addressed"], p["message_id"])] for p in addressed) or time.time() > deadline:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(2)  # a second answer would come about a second after the first
        stop = procs.stop(proc)
        sent = (await call("GET", "/control/sent"))["messages"]
        posted = (await call("GET", "/control/posted"))["messages"]
        conn = await asyncpg.connect(dsn)
        try:
            stored = Counter(
                r[0]
                for r in await conn.fetch(
                    "SELECT telegram_message_id FROM messages WHERE chat_id = $1 AND is_incoming", CHAT_ID
                )
            )
            unknown = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE answers_message_id IS NOT NULL AND reason LIKE 'outcome unknown%'"
            )
        finally:
            await conn.close()
        recovered = 0
        for path in sorted(workdir.glob("runner-*.log")):
            for line in path.read_text(errors="replace").splitlines():
                if '"answers.recovered"' in line:
                    recovered += json.loads(line).get("taken", 0)
        return figures(args, addressed, sent, posted, stored, unknown, recovered, runs, stop, crowd)
    finally:
        await control.close()
        await model.stop()
        procs.stop_all()
        database.stop()


def figures(
    args: argparse.Namespace,
    addressed: list[dict[str, Any]],
    sent: list[dict[str, Any]],
    posted: list[dict[str, Any]],
    stored: Counter[int],
    unknown: int,
    recovered: int,
    runs: list[dict[str, Any]],
    stop: dict[str, Any],
    crowd: dict[str, Any],
) -> dict[str, Any]:
    answers: dict[tuple[str, int], list[float]] = {}
    for s in sent:
        if s["reply_to_message_id"]:
            answers.setdefault((s["bot_name"], s["reply_to_message_id"]), []).append(s["at"])
    counts = Counter(len(answers.get((p["addressed"], p["message_id"]), [])) for p in addressed)
    latency = [
        min(answers[(p["addressed"], p["message_id"])]) - p["available_at"]
        for p in addressed
        if (p["addressed"], p["message_id"]) in answers
    ]
    twice = sum(n for k, n in counts.items() if k >= 2)
    delivered = [p["message_id"] for p in posted if p["recipients"]]
    result = {
        "kills": args.kills,
        "posted": len(posted),
        "by_kind": crowd["by_kind"],
        "addressed": len(addressed),
        "answered_once": counts[1],
        "answered_twice_or_more": twice,
        "never_answered": counts[0],
        "twice_share": share(twice, len(addressed)),
        "answer_latency_s": summary(latency, 2),
        "lost": sum(1 for m in delivered if m not in stored),
        "stored_twice": sum(1 for n in stored.values() if n > 1),
        "unknown_outcome_answers": unknown,
        "recovered_at_start": recovered,
        "runs": runs,
        "last_stop": stop,
    }
    result["goal_met"] = counts[0] == 0 and twice <= GOAL_TWICE * len(addressed)
    return result


def markdown(result: dict[str, Any]) -> str:
    lat = result["answer_latency_s"]
    rows = [
        ("kills (SIGKILL, then a restart)", result["kills"]),
        ("people's messages posted", result["posted"]),
        ("addressed to a bot (mention, reply)", result["addressed"]),
        ("answered once", result["answered_once"]),
        ("answered twice or more", f"{result['answered_twice_or_more']} (share {result['twice_share']})"),
        ("never answered", result["never_answered"]),
        ("first answer latency P50 / P95 / max (s)", f"{lat['p50']} / {lat['p95']} / {lat['max']}"),
        ("people's messages lost / stored twice", f"{result['lost']} / {result['stored_twice']}"),
        ("answers closed by the unknown-outcome rule", result["unknown_outcome_answers"]),
        ("answers recovered at start", result["recovered_at_start"]),
        ("ready after a start, median (s)", sorted(r["ready_s"] for r in result["runs"])[len(result["runs"]) // 2]),
        ("last stop (SIGTERM)", f"exit {result['last_stop']['exit']} in {result['last_stop']['stop_s']} s"),
        ("goal (≤ 1 in 500 twice, none never)", "met" if result["goal_met"] else "NOT met"),
    ]
    lines = [f"`{result['command']}` ({result['machine']})", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kills", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--bots", type=int, default=10)
    parser.add_argument("--rate", type=float, default=2.0, help="people's messages a second, on average")
    parser.add_argument("--mix", default="10:20:10", help="people normal:mention:reply")
    parser.add_argument("--privacy", choices=["on", "off"], default="on")
    parser.add_argument("--model-delay", type=float, default=3.0, help="seconds the model takes (0: templates)")
    parser.add_argument("--up", default="4:20", help="min:max seconds a run lives before its kill")
    parser.add_argument("--down", default="0:3", help="min:max seconds the runner stays down")
    parser.add_argument("--tail-crowd", type=float, default=10.0, help="seconds the crowd goes on after the last start")
    parser.add_argument("--tail", type=float, default=90.0, help="seconds to wait for the last answers")
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
    with work_folder("piyasa-kills-", keep=args.keep) as workdir:
        try:
            run = asyncio.run(kills(args, workdir, procs, code))
        finally:
            procs.stop_all()
            code.remove()
    result = {
        "command": "python -m benchmarks.kills " + " ".join(argv),
        "machine": f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        "code": code.digest,
        "seconds": round(time.time() - started, 1),
        **run,
    }
    write_results(args.out, "kills", started, result, markdown(result))
    return 0 if result["goal_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
