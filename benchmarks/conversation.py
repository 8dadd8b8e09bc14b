"""Conversation benchmark: the repo's bots.yaml, the real runner, simulated people, N minutes.

Runs the whole system in this process the way `python -m piyasa_bot simulate`
does: the Bot API emulator on 127.0.0.1 with the roster's limits enforced,
bots.yaml with emulator tokens, a fresh database (embedded PostgreSQL in a
temporary folder under /tmp, or DATABASE_URL), a Runner with the conversation
on (seed, pace scale) and a Crowd of normal, mentioning and replying people.

At the end it measures, from the emulator's sent list and the crowd's posts:

* repeated messages: per bot, a message whose normalized text equals one of
  that bot's earlier messages; and the same across all bots. Normalized:
  casefold, every number (digits with their separators) -> "0", punctuation,
  symbols and emoji -> space, whitespace collapsed.
* distinct message shapes: distinct normalized texts (and distinct raw texts),
  overall and per bot.
* addressed messages answered: of the crowd's posts that addressed a bot, the
  share that got a reply from that very bot (SentMessage.reply_to_message_id
  == the post's message_id, a supergroup's shared numbering).
* reply latency: answer's send time minus the post's available_at, P50/P95/max,
  and the same minus the deliberate typing delay (Composer.typing_delay).
* the emulator's limit violations, the outbox's counts, chatter vs answers.

The measures are in benchmarks/conversation_measures.py.

    python -m benchmarks.conversation --duration 600 --pace 20 --people 30 --rate 1 --seed 1 --json out.json

Logs (JSON lines) go to --log (default: a file in a fresh /tmp folder).
Everything started here (database server, emulator) is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.conversation_measures import analyse, repeats, sentence_repeats, shapes
from benchmarks.conversation_quality import quality
from benchmarks.lib.database import session_database
from benchmarks.lib.fake_model import FakeModel
from piyasa_bot.commands.simulate import simulated_roster
from piyasa_bot.crypto import TokenCipher, generate_key
from piyasa_bot.llm import LlmConfig
from piyasa_bot.logs import configure_logging
from piyasa_bot.roster import HourRange
from piyasa_bot.roster_loader import LoadedRoster
from piyasa_bot.runner import Runner
from piyasa_bot.sandbox import Crowd, CrowdSpec, Emulator, limits_for
from piyasa_bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- database


async def outbox_rows(dsn: str) -> tuple[list[dict[str, Any]], int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """SELECT o.id, b.name AS bot, o.priority, o.status, o.reason, o.answers_message_id,
                      o.reply_to_message_id, o.telegram_message_id, o.attempts, o.text,
                      extract(epoch FROM o.created_at) AS created, extract(epoch FROM o.finished_at) AS finished,
                      extract(epoch FROM o.not_before) AS not_before
               FROM outbox o JOIN bots b ON b.id = o.bot_id ORDER BY o.id"""
        )
        incoming = await conn.fetchval("SELECT count(*) FROM messages WHERE is_incoming")
        outgoing = await conn.fetchval("SELECT count(*) FROM messages WHERE NOT is_incoming")
    finally:
        await conn.close()
    out = [
        {
            k: (float(v) if k in ("created", "finished", "not_before") and v is not None else v)
            for k, v in dict(r).items()
        }
        for r in rows
    ]
    return out, incoming, outgoing


# --------------------------------------------------------------------------- log events


class EventCounter(logging.Handler):
    """Counts structlog events by name (and keeps a few per name) without parsing the log file."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.counts: Counter[str] = Counter()
        self.samples: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.msg
        if isinstance(msg, dict):
            event = str(msg.get("event"))
            self.counts[event] += 1
            if record.levelno >= logging.INFO and len(self.samples[event]) < 20:
                self.samples[event].append({k: str(v) for k, v in msg.items() if k != "event"})


# --------------------------------------------------------------------------- the run


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(PIYASA_CONFIG=str(args.config), PIYASA_SECRET_KEY=None, DATABASE_URL=None)
    emulator = Emulator(seed=args.seed)
    loaded = simulated_roster(settings, emulator)
    if args.awake:
        loaded = awake(loaded)
    limits = loaded.roster.limits
    emulator.use_limits(limits_for(limits.global_per_second, limits.per_chat_per_minute))
    cipher = TokenCipher.from_setting(generate_key())
    assert cipher is not None
    chat = loaded.roster.chats[0]
    people = max(args.people, 1)
    spec = CrowdSpec(
        chat_id=chat.id,
        normal=people - 2 * (people // 5),
        mention=people // 5,
        reply=people // 5,
        duration=args.duration,
        rate_multiplier=args.rate,
        seed=args.seed,
    )
    events = EventCounter()
    logging.getLogger().addHandler(events)
    base_url = await emulator.start(host="127.0.0.1", port=0)
    model = FakeModel(delay=args.llm_delay, seed=args.seed) if args.llm == "fake" else None
    llm = LlmConfig(base_url=await model.start(), model="fake", api_key=None) if model is not None else None
    timings: dict[str, float] = {}
    try:
        async with session_database("cbench-pg-") as dsn:
            started = time.time()
            async with Runner(
                loaded,
                dsn=dsn,
                api_base=base_url,
                cipher=cipher,
                poll_timeout=10,
                conversation=True,
                seed=args.seed,
                pace_scale=args.pace,
                llm=llm,
            ) as runner:
                await runner.wait_polling()
                timings["ready_s"] = time.time() - started
                market = runner.services.market
                # The people quote the bots' market, as in `simulate`.
                crowd = Crowd(emulator, spec, market.prices() if market is not None else None)
                crowd_started = time.time()
                crowd_task = asyncio.create_task(crowd.run())
                next_line = crowd_started + args.progress
                while not crowd_task.done():
                    await asyncio.wait([crowd_task], timeout=1.0)
                    if time.time() >= next_line:
                        next_line += args.progress
                        print(
                            f"  t={time.time() - crowd_started:5.0f}s posted {len(emulator.posted)}, "
                            f"bots sent {len(emulator.sent())}, outbox queue {runner.outbox.backlog}, "
                            f"violations {sum(emulator.violations.values())}",
                            file=sys.stderr,
                            flush=True,
                        )
                await crowd_task
                crowd_ended = time.time()
                await emulator.wait_confirmed(timeout=60)
                rooms, outbox = runner.rooms, runner.outbox
                assert rooms is not None and outbox is not None
                # No new chatter from here; the answers still being written or waiting go out.
                with contextlib.suppress(TimeoutError):
                    await runner.drain(timeout=args.grace)
                timings["drain_s"] = time.time() - crowd_ended
                room_counts = {
                    "addressed": rooms.counts.addressed,
                    "answered (queued)": rooms.counts.answered,
                    "volunteered": rooms.counts.volunteered,
                    "skipped": dict(rooms.counts.skipped),
                }
                outbox_counts = dict(vars(outbox.counts))
                left_queued = outbox.backlog
                await rooms.stop()
            rows, incoming, outgoing = await outbox_rows(dsn)
    finally:
        logging.getLogger().removeHandler(events)
        await emulator.stop()
        if model is not None:
            await model.stop()
    result = analyse(
        args,
        emulator,
        crowd,
        rows,
        incoming,
        outgoing,
        room_counts,
        outbox_counts,
        left_queued,
        events,
        timings,
        crowd_started,
        crowd_ended,
    )
    result["quality"] = quality(result, args.config)
    result["llm"] = {"mode": args.llm, "calls": model.calls if model is not None else 0}
    return result


# --------------------------------------------------------------------------- report


def markdown(result: dict[str, Any]) -> str:
    a, r, s, sn = result["args"], result["repeats"], result["shapes"], result["sentences"]
    lat, latn, ans = result["latency_s"], result["latency_minus_typing_s"], result["answers"]
    ob = result["outbox"]["counts"]
    viol = sum(result["emulator"]["violations"].values())

    def pct(x: float | None) -> str:
        return "–" if x is None else f"{100 * x:.1f}%"

    lines = [
        (
            f"Conversation run: {a['duration']:.0f} s, pace ×{a['pace']}, {a['people']} people at rate ×{a['rate']}, "
            f"seed {a['seed']} ({result['machine']['cores']} cores, Python {result['machine']['python']})"
        ),
        "",
        "| measure | value |",
        "|---|---|",
        (
            f"| people posted / stored / lost | {result['people']['posted']} / {result['people']['stored']} / "
            f"{result['people']['lost']} |"
        ),
        (
            f"| bots sent (chatter + answers) | {result['bots']['sent']} ({result['bots']['chatter']} + "
            f"{result['bots']['answers']}), {result['bots']['per_minute']}/min |"
        ),
        (
            f"| repeated messages, per bot (own earlier shape) | {r['repeated_own']}/{r['messages']} = "
            f"{pct(r['repeated_own_share'])} |"
        ),
        (
            f"| repeated messages, across all bots | {r['repeated_any_bot']}/{r['messages']} = "
            f"{pct(r['repeated_any_bot_share'])} |"
        ),
        (
            f"| repeated chatter / answers (per bot) | {pct(result['repeats_chatter']['repeated_own_share'])} / "
            f"{pct(result['repeats_answers']['repeated_own_share'])} |"
        ),
        f"| distinct shapes / distinct texts | {s['distinct_shapes']} / {s['distinct_texts']} of {r['messages']} |",
        (
            f"| sentences a bot had already used (per bot) | {sn['repeated_own_sentences']}/{sn['sentences']} = "
            f"{pct(sn['repeated_own_sentence_share'])}; distinct sentences {sn['distinct_sentences']} |"
        ),
        (
            f"| messages opening (first 3 words) like an earlier one of the same bot | "
            f"{sn['messages_opening_like_an_earlier_own_message']}/{r['messages']} = "
            f"{pct(sn['opening_repeat_share'])}; "
            f"distinct openings {sn['distinct_openings']} |"
        ),
        (
            f"| addressed messages answered by that bot | {ans['answered_by_addressed_bot']}/{ans['addressed']} = "
            f"{pct(ans['share'])} |"
        ),
        f"| reply latency P50 / P95 / max | {lat['p50']} / {lat['p95']} / {lat['max']} s |",
        f"| … minus typing delay P50 / P95 / max | {latn['p50']} / {latn['p95']} / {latn['max']} s |",
        f"| limit violations (emulator) | {viol} |",
        *_quality_lines(result, pct),
        (
            f"| outbox sent / failed / expired / rate_limited | {ob['sent']} / {ob['failed']} / {ob['expired']} / "
            f"{ob['rate_limited']} (max queue {ob['max_queue']}) |"
        ),
        "",
        "| bot | sent | repeats (own) | shapes | texts |",
        "|---|---|---|---|---|",
    ]
    for bot, stats in r["per_bot"].items():
        sh = s["per_bot"][bot]
        lines.append(
            f"| {bot} | {stats['messages']} | {stats['repeats']} ({pct(stats['share'])}) | "
            f"{sh['shapes']} | {sh['texts']} |"
        )
    return "\n".join(lines) + "\n"


def _quality_lines(result: dict[str, Any], pct: Any) -> list[str]:
    quality = result.get("quality")
    if not quality:
        return []
    subject, signature, clash = quality["on_subject"], quality["signature"], quality["contradictions"]
    llm = result.get("llm", {})
    repeats = quality["sentence_repeats"]
    return [
        (
            f"| answers on the asked subject (questions naming one symbol) | {subject['on_subject']}/"
            f"{subject['questions']} = {pct(subject['share'])} |"
        ),
        (
            f"| signature-phrase rate (worst bot) / twice in a row | {pct(signature['rate'])} "
            f"({pct(signature['worst_bot_rate'])}) / {signature['in_a_row']} |"
        ),
        f"| contradictions between bots in 2 min: directions / levels | {clash['directions']} / {clash['levels']} |",
        (
            f"| sentences repeating one of the bot's last 500, signature phrases left out | "
            f"{repeats['repeated']}/{repeats['sentences']} = {pct(repeats['share'])} |"
        ),
        f"| text source | {llm.get('mode', 'off')} ({llm.get('calls', 0)} model calls) |",
    ]


def awake(loaded: LoadedRoster) -> LoadedRoster:
    """Every persona active all day, no quiet hours: a run measures the same whatever the hour it starts."""
    whole_day = [HourRange.parse("00:00-24:00")]
    bots = [
        b.model_copy(update={"persona": b.persona.model_copy(update={"active_hours": whole_day})})
        for b in loaded.roster.bots
    ]
    chats = [
        c.model_copy(update={"quiet_hours": []}) if "quiet_hours" in type(c).model_fields else c
        for c in loaded.roster.chats
    ]
    return dataclasses.replace(loaded, roster=loaded.roster.model_copy(update={"bots": bots, "chats": chats}))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.conversation", description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of simulated people (default 600)")
    parser.add_argument("--pace", type=float, default=20.0, help="speed-up of the bots' pace (default 20)")
    parser.add_argument("--people", type=int, default=30)
    parser.add_argument("--rate", type=float, default=1.0, help="speed-up of the people's pace (default 1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--config", type=Path, default=ROOT / "bots.yaml")
    parser.add_argument("--grace", type=float, default=90.0, help="seconds to let the last answers go out")
    parser.add_argument("--progress", type=float, default=30.0, help="seconds between progress lines")
    parser.add_argument("--json", type=Path, help="write the full result here")
    parser.add_argument("--log", type=Path, help="JSON log lines here (default: a new folder under /tmp)")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument(
        "--llm", choices=("off", "fake"), default="off", help="fake: a local OpenAI-compatible endpoint"
    )
    parser.add_argument("--awake", action="store_true", help="every persona active all day (no quiet hours)")
    parser.add_argument("--llm-delay", type=float, default=0.8, help="the fake model's mean answer time, seconds")
    parser.add_argument("--reanalyse", type=Path, metavar="JSON", help="recompute the text measures of a saved result")
    return parser


def reanalyse(path: Path) -> dict[str, Any]:
    """Recompute the text measures of a saved --json result (e.g. after changing normalize)."""
    result = json.loads(path.read_text(encoding="utf-8"))
    sent = result["sent_messages"]
    texts = [(m["bot"], m["text"]) for m in sent]
    result["repeats"], result["shapes"], result["sentences"] = repeats(texts), shapes(texts), sentence_repeats(texts)
    result["quality"] = quality(result, Path(result["args"]["config"]))
    for kind, key in (("chatter", "chatter"), ("answer", "answers")):
        chosen = [(m["bot"], m["text"]) for m in sent if m["kind"] == kind]
        result[f"repeats_{key}"], result[f"shapes_{key}"] = repeats(chosen), shapes(chosen)
    return result


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.reanalyse:
        result = reanalyse(args.reanalyse)
        print(markdown(result))
        print(json.dumps(result["sentences"], ensure_ascii=False, indent=1))
        if args.json:
            args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        return 0
    log_path = args.log or Path(tempfile.mkdtemp(prefix="cbench-conv-", dir="/tmp")) / "run.log"
    with open(log_path, "w", encoding="utf-8") as log_stream:
        configure_logging(args.log_level, json=True, stream=log_stream)
        print(f"log: {log_path}", file=sys.stderr)
        result = asyncio.run(run(args))
    result["log"] = str(log_path)
    print(markdown(result))
    ans = result["answers"]
    if ans["unanswered"]:
        print(f"unanswered addressed messages ({len(ans['unanswered'])}):")
        for item in ans["unanswered"][:20]:
            print(f"  {json.dumps(item, ensure_ascii=False)}")
    print(f"rooms: {json.dumps(ans['rooms'], ensure_ascii=False)}")
    print(f"log events: {json.dumps(result['log_events'], ensure_ascii=False)}")
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    violations = sum(result["emulator"]["violations"].values())
    return 0 if violations == 0 and result["people"]["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
