"""Limiter benchmark: saturate one chat through the real Runner/Outbox and the emulator.

Each bot gets a backlog of chatter (default 200 items, the roster's TTL) and a
stream of answers far above the limit (default one a second), all into the
same supergroup, for --duration seconds. The emulator enforces Telegram's
per-bot limits (429 + retry_after) and counts the roster-wide ones; the
runner is the real one (aiolimiter buckets, priority queue, durable rows).

Measured per bot: sends per minute achieved against the allowed
`per_chat_per_minute` (efficiency), the most sends any 60-s window held (must
stay <= the limit), the emulator's violations and 429s, the queue wait of
answers and of chatter (sent - put), and the share of chatter that expired.
Across bots: the chat's total and the most sends in any 1-s window against
the global limit.

    python -m benchmarks.limiter --duration 180 --bots 1 5 --repeat 3 --json out.json
    python -m benchmarks.limiter --duration 120 --bots 1 --answer-every 0        # chatter only
    python -m benchmarks.limiter --duration 60 --bots 120 --chatter 0 --answer-every 0 --answers-backlog 40

Only 127.0.0.1; the embedded PostgreSQL (or DATABASE_URL) gets a fresh
database per run; everything started is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.lib.database import database_server, scratch_database
from benchmarks.lib.figures import summary
from piyasa_bot.logs import configure_logging
from piyasa_bot.sandbox import limits_for
from piyasa_bot.sending import limits as send_limits
from piyasa_bot.sending.outbox import Outgoing, Priority
from tests.helpers import make_runner, make_world


def mean_in_window(times: list[float], span: float, start: float, end: float, step: float = 0.1) -> float | None:
    """The time-average of the count in the trailing `span` seconds, over [start + span, end].

    The achieved rate without the phase artifacts of one fixed window: a bucket
    that sends 20 in a burst and then waits gives 20 in some windows and fewer
    in others; the average over every window position is the sustained rate.
    """
    ordered = sorted(times)
    if end - start < span:
        return None
    counts = []
    at = start + span
    while at <= end:
        counts.append(bisect.bisect_right(ordered, at) - bisect.bisect_right(ordered, at - span))
        at += step
    return statistics.fmean(counts)


def densest(times: list[float], span: float, origin: float) -> dict[str, Any]:
    """Where the fullest window (t - span, t] is, and the gaps between its sends (ms)."""
    ordered = sorted(times)
    best, best_i, best_first = 0, 0, 0
    for i, at in enumerate(ordered):
        first = bisect.bisect_right(ordered, at - span)
        if i - first + 1 > best:
            best, best_i, best_first = i - first + 1, i, first
    inside = ordered[best_first : best_i + 1]
    return {
        "count": best,
        "start_s": round(inside[0] - origin, 3) if inside else None,
        "span_ms": round(1000 * (inside[-1] - inside[0]), 1) if inside else None,
        "gaps_ms": [round(1000 * (b - a), 1) for a, b in itertools.pairwise(inside)],
    }


def max_in_window(times: list[float], span: float) -> int:
    """The most events any half-open window (t - span, t] holds."""
    ordered = sorted(times)
    best = 0
    for i, at in enumerate(ordered):
        first = bisect.bisect_right(ordered, at - span)
        best = max(best, i - first + 1)
    return best


async def one_run(server_dsn: str, args: argparse.Namespace, bots: int, run_index: int) -> dict[str, Any]:
    world = await make_world(bots)
    emulator = world.emulator
    limits = world.loaded.roster.limits
    emulator.use_limits(limits_for(limits.global_per_second, limits.per_chat_per_minute))
    names = [bot.name for bot in world.loaded.roster.bots]
    sent_at: list[tuple[Outgoing, float]] = []
    ids = itertools.count(1_000_000)
    try:
        async with scratch_database(server_dsn) as dsn:
            async with make_runner(world, dsn) as runner:
                await runner.wait_polling()
                outbox = runner.outbox
                outbox.on_sent = lambda item, _message: sent_at.append((item, time.time()))
                t0 = time.time()
                end = t0 + args.duration

                async def backlog() -> None:
                    ttl = limits.chatter_ttl_seconds
                    for i in range(args.chatter):
                        for name in names:
                            await outbox.put(
                                Outgoing(
                                    bot=name,
                                    chat_id=world.chat_id,
                                    text=f"{name} sohbet {i}",
                                    priority=Priority.CHATTER,
                                    expires_at=time.time() + ttl,
                                )
                            )
                    for i in range(args.answers_backlog):
                        await asyncio.gather(
                            *(
                                outbox.put(
                                    Outgoing(
                                        bot=name,
                                        chat_id=world.chat_id,
                                        text=f"{name} birikmiş cevap {i}",
                                        priority=Priority.ANSWER,
                                        answers=next(ids),
                                    )
                                )
                                for name in names
                            )
                        )

                async def stream() -> None:
                    if args.answer_every <= 0:
                        return
                    tick = t0
                    n = 0
                    while tick < end:
                        await asyncio.gather(
                            *(
                                outbox.put(
                                    Outgoing(
                                        bot=name,
                                        chat_id=world.chat_id,
                                        text=f"{name} cevap {n}",
                                        priority=Priority.ANSWER,
                                        answers=next(ids),
                                    )
                                )
                                for name in names
                            )
                        )
                        n += 1
                        tick += args.answer_every
                        await asyncio.sleep(max(0.0, tick - time.time()))

                feeders = [asyncio.create_task(backlog()), asyncio.create_task(stream())]
                await asyncio.sleep(max(0.0, end - time.time()))
                for task in feeders:
                    task.cancel()
                await asyncio.gather(*feeders, return_exceptions=True)
                backlog_left = outbox.backlog
                counts = dict(vars(outbox.counts))
            conn = await asyncpg.connect(dsn)
            try:
                rows = await conn.fetch(
                    "SELECT b.name, o.priority, o.status, count(*) AS n FROM outbox o JOIN bots b ON b.id = o.bot_id "
                    "GROUP BY 1, 2, 3"
                )
            finally:
                await conn.close()
    finally:
        await emulator.stop()

    sent = [s for s in emulator.sent(world.chat_id) if t0 <= s.at <= end]
    allowed = limits.per_chat_per_minute
    chatter_allowed = allowed * (1 - limits.answer_share)
    per_bot: dict[str, Any] = {}
    for name in names:
        times = sorted(s.at for s in sent if s.bot_name == name)
        kinds = Counter(item.priority.name.lower() for item, at in sent_at if item.bot == name and at <= end)
        sustained = mean_in_window(times, 60.0, t0, end)
        if sustained is None:  # shorter than a window: the plain count (a burst makes it look high)
            sustained = len(times) / (args.duration / 60)
        per_bot[name] = {
            "sent": len(times),
            "answers": kinds["answer"],
            "chatter": kinds["chatter"],
            "per_minute_naive": round(len(times) / (args.duration / 60), 2),
            "per_minute": round(sustained, 3),
            "efficiency": round(sustained / allowed, 4),
            "max_60s_window": max_in_window(times, 60.0),
            "max_1s_window": max_in_window(times, 1.0),
            "min_gap_s": round(min(b - a for a, b in itertools.pairwise(times)), 3) if len(times) > 1 else None,
        }
    status = defaultdict(Counter)
    for row in rows:
        status["answer" if row["priority"] == 0 else "chatter"][row["status"]] += row["n"]
    waits = defaultdict(list)
    for item, at in sent_at:
        if at <= end:
            waits[item.priority.name.lower()].append(at - max(item.created, item.not_before))
    chatter_total = sum(status["chatter"].values())
    all_times = [s.at for s in sent]
    return {
        "bots": bots,
        "run": run_index,
        "duration_s": args.duration,
        "allowed_per_minute": allowed,
        "chatter_allowed_per_minute": round(chatter_allowed, 2),
        "per_bot": per_bot,
        "efficiency_median_of_bots": statistics.median(b["efficiency"] for b in per_bot.values()),
        "efficiency_min_of_bots": min(b["efficiency"] for b in per_bot.values()),
        "max_60s_window_any_bot": max(b["max_60s_window"] for b in per_bot.values()),
        "chat_total_sent": len(sent),
        "chat_max_60s_window_all_bots": max_in_window(all_times, 60.0),
        "max_1s_window_all_bots": max_in_window(all_times, 1.0),
        "all_bots_per_second": round(mean_in_window(all_times, 1.0, t0, end, step=0.01) or 0.0, 3),
        "global_efficiency": round(
            (mean_in_window(all_times, 1.0, t0, end, step=0.01) or 0.0) / limits.global_per_second, 4
        ),
        "global_per_second": limits.global_per_second,
        "global_ceiling_per_second": round(limits.global_per_second / getattr(send_limits, "GLOBAL_MARGIN", 1.0), 3),
        "violations": dict(emulator.violations),
        "emulator_429": dict(emulator.rate_limited),
        "outbox_counts": counts,
        "backlog_left": backlog_left,
        "queue_wait_s": {kind: summary(values) for kind, values in waits.items()},
        "rows": {kind: dict(c) for kind, c in status.items()},
        "densest_1s": densest(all_times, 1.0, t0),
        "send_times_s": [[s.bot_name, round(s.at - t0, 4)] for s in sent] if args.keep_times else None,
        "chatter_expired_share": round(status["chatter"]["expired"] / chatter_total, 4) if chatter_total else None,
    }


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{100 * share:.1f}%"


def markdown(runs: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"Limiter: {args.duration:.0f} s per run; per bot {args.chatter} chatter queued at start"
        + (f", {args.answers_backlog} answers queued at start" if args.answers_backlog else "")
        + (f", one answer every {args.answer_every:g} s" if args.answer_every > 0 else "")
        + f"; {os.cpu_count()} cores, Python {platform.python_version()}",
        "",
        (
            "| bots | run | sent per bot in the run (median) | sustained/min per bot (median) | "
            "efficiency median / min | max in 60 s (any bot) | "
            "chat total, max 60 s | max 1 s (all) | violations | 429 | answers wait P50/P95/max s | "
            "chatter wait P50/max s | chatter expired |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        per_minute = statistics.median(b["per_minute"] for b in r["per_bot"].values())
        aw = r["queue_wait_s"].get("answer", {})
        cw = r["queue_wait_s"].get("chatter", {})
        lines.append(
            f"| {r['bots']} | {r['run']} | {statistics.median(b['sent'] for b in r['per_bot'].values())} | "
            f"{per_minute:.2f} of {r['allowed_per_minute']} | "
            f"{100 * r['efficiency_median_of_bots']:.1f}% / {100 * r['efficiency_min_of_bots']:.1f}% | "
            f"{r['max_60s_window_any_bot']} | {r['chat_total_sent']}, {r['chat_max_60s_window_all_bots']} | "
            f"{r['max_1s_window_all_bots']} | {sum(r['violations'].values())} | {r['emulator_429']['enforced']} | "
            f"{aw.get('p50')}/{aw.get('p95')}/{aw.get('max')} | {cw.get('p50')}/{cw.get('max')} (n={cw.get('n', 0)}) | "
            f"{_pct(r['chatter_expired_share'])} |"
        )
    return "\n".join(lines) + "\n"


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    runs = []
    with database_server("cbench-pg-") as server_dsn:
        for bots in args.bots:
            for index in range(1, args.repeat + 1):
                print(f"  run: {bots} bot(s), #{index}, {args.duration:.0f} s", file=sys.stderr, flush=True)
                result = await one_run(server_dsn, args, bots, index)
                print(
                    f"    efficiency median {100 * result['efficiency_median_of_bots']:.1f}%, "
                    f"max 60-s window {result['max_60s_window_any_bot']}, "
                    f"violations {sum(result['violations'].values())}",
                    file=sys.stderr,
                    flush=True,
                )
                runs.append(result)
    return runs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.limiter", description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=180.0)
    parser.add_argument("--bots", type=int, nargs="+", default=[1, 5], help="bots in the chat, one run set each")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--chatter", type=int, default=200, help="chatter items queued per bot at start")
    parser.add_argument("--answers-backlog", type=int, default=0, help="answers queued per bot at start")
    parser.add_argument("--answer-every", type=float, default=1.0, help="seconds between answers per bot (0: none)")
    parser.add_argument("--keep-times", action="store_true", help="put every send time into --json")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--log", type=Path, help="JSON log lines (default: a new folder under /tmp)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    log_path = args.log or Path(tempfile.mkdtemp(prefix="cbench-limiter-", dir="/tmp")) / "run.log"
    with open(log_path, "w", encoding="utf-8") as log_stream:
        configure_logging("WARNING", json=True, stream=log_stream)
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
        print(f"log: {log_path}", file=sys.stderr)
        runs = asyncio.run(main_async(args))
    print(markdown(runs, args))
    for r in runs:
        print(
            f"bots={r['bots']} run {r['run']}: all bots together {r['all_bots_per_second']}/s of "
            f"{r['global_per_second']:g}/s allowed ({100 * r['global_efficiency']:.1f}%), "
            f"max in any 1 s {r['max_1s_window_all_bots']}, total_second violations {r['violations']['total_second']}"
        )
    for bots in args.bots:
        chosen = [r for r in runs if r["bots"] == bots]
        eff = statistics.median(r["efficiency_median_of_bots"] for r in chosen)
        print(
            f"bots={bots}: median efficiency over {len(chosen)} run(s) {100 * eff:.1f}%, "
            f"max 60-s window {max(r['max_60s_window_any_bot'] for r in chosen)}, "
            f"violations {sum(sum(r['violations'].values()) for r in chosen)}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}, "runs": runs},
                ensure_ascii=False,
                indent=1,
            ),
            encoding="utf-8",
        )
    bad = any(sum(r["violations"].values()) or r["max_60s_window_any_bot"] > r["allowed_per_minute"] for r in runs)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
