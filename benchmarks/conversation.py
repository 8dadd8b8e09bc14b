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

    python -m benchmarks.conversation --duration 600 --pace 20 --people 30 --rate 1 --seed 1 --json out.json

Logs (JSON lines) go to --log (default: a file in a fresh /tmp folder).
Everything started here (database server, emulator) is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
import unicodedata
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from piyasa_bot.commands.simulate import simulated_roster
from piyasa_bot.conversation import Composer
from piyasa_bot.crypto import TokenCipher, generate_key
from piyasa_bot.logs import configure_logging
from piyasa_bot.runner import Runner
from piyasa_bot.sandbox import Crowd, CrowdSpec, Emulator, limits_for
from piyasa_bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- text shapes

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """The message's shape: casefold, numbers -> 0, punctuation/symbols/emoji dropped, spaces collapsed."""
    text = _NUMBER.sub("0", text.casefold())
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category[0] in "LN" or char == " ":
            kept.append(char)
        elif category[0] in "M":  # combining marks (casefold of "İ" leaves one): drop
            continue
        else:  # punctuation, symbols (emoji), separators, controls (ZWJ, VS16)
            kept.append(" ")
    return _SPACES.sub(" ", "".join(kept)).strip()


def repeats(texts_by_bot: list[tuple[str, str]]) -> dict[str, Any]:
    """Per bot and overall: messages whose shape one earlier message (of that bot / of any bot) had."""
    seen_by_bot: dict[str, set[str]] = defaultdict(set)
    seen_all: set[str] = set()
    per_bot: dict[str, dict[str, int]] = defaultdict(lambda: {"messages": 0, "repeats": 0})
    repeated_own = repeated_any = 0
    for bot, text in texts_by_bot:
        shape = normalize(text)
        stats = per_bot[bot]
        stats["messages"] += 1
        if shape in seen_by_bot[bot]:
            stats["repeats"] += 1
            repeated_own += 1
        if shape in seen_all:
            repeated_any += 1
        seen_by_bot[bot].add(shape)
        seen_all.add(shape)
    total = len(texts_by_bot)
    return {
        "messages": total,
        "repeated_own": repeated_own,
        "repeated_own_share": _share(repeated_own, total),
        "repeated_any_bot": repeated_any,
        "repeated_any_bot_share": _share(repeated_any, total),
        "per_bot": {bot: {**s, "share": _share(s["repeats"], s["messages"])} for bot, s in sorted(per_bot.items())},
    }


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def sentences(text: str) -> list[str]:
    return [shape for part in _SENTENCE_END.split(text) if (shape := normalize(part))]


def sentence_repeats(texts_by_bot: list[tuple[str, str]], top: int = 12) -> dict[str, Any]:
    """A coarser look than whole messages: sentences (and openings) a bot already used.

    Whole messages rarely repeat when numbers, symbols and clauses are mixed;
    stock sentences ("Kurda sakinlik var, panik yok.") and stock openings
    ("Anlık durum şu:") are what a reader notices.
    """
    seen_by_bot: dict[str, set[str]] = defaultdict(set)
    openings_by_bot: dict[str, set[str]] = defaultdict(set)
    counts: Counter[str] = Counter()
    openings: Counter[str] = Counter()
    total = repeated = opening_repeated = 0
    for bot, text in texts_by_bot:
        parts = sentences(text)
        if parts:
            opening = " ".join(parts[0].split()[:3])
            openings[opening] += 1
            if opening in openings_by_bot[bot]:
                opening_repeated += 1
            openings_by_bot[bot].add(opening)
        for part in parts:
            total += 1
            counts[part] += 1
            if part in seen_by_bot[bot]:
                repeated += 1
            seen_by_bot[bot].add(part)
    messages = len(texts_by_bot)
    return {
        "sentences": total,
        "distinct_sentences": len(counts),
        "repeated_own_sentences": repeated,
        "repeated_own_sentence_share": _share(repeated, total),
        "messages_opening_like_an_earlier_own_message": opening_repeated,
        "opening_repeat_share": _share(opening_repeated, messages),
        "distinct_openings": len(openings),
        "top_sentences": [{"sentence": k, "count": n} for k, n in counts.most_common(top) if n > 1],
        "top_openings": [{"opening": k, "count": n} for k, n in openings.most_common(top) if n > 1],
    }


def shapes(texts_by_bot: list[tuple[str, str]]) -> dict[str, Any]:
    per_bot_shapes: dict[str, set[str]] = defaultdict(set)
    per_bot_texts: dict[str, set[str]] = defaultdict(set)
    for bot, text in texts_by_bot:
        per_bot_shapes[bot].add(normalize(text))
        per_bot_texts[bot].add(text)
    return {
        "distinct_shapes": len({normalize(t) for _, t in texts_by_bot}),
        "distinct_texts": len({t for _, t in texts_by_bot}),
        "per_bot": {bot: {"shapes": len(per_bot_shapes[bot]), "texts": len(per_bot_texts[bot])}
                    for bot in sorted(per_bot_shapes)},
    }


# --------------------------------------------------------------------------- numbers


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def summary(values: list[float]) -> dict[str, float | int | None]:
    return {
        "n": len(values),
        "p50": _round(percentile(values, 50)),
        "p95": _round(percentile(values, 95)),
        "max": _round(max(values)) if values else None,
        "mean": _round(statistics.fmean(values)) if values else None,
    }


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


# --------------------------------------------------------------------------- database


@contextlib.contextmanager
def database_server():
    """DATABASE_URL's server, or an embedded PostgreSQL in a new /tmp folder, stopped and removed at the end."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    from piyasa_bot.db.embedded import EmbeddedPostgres

    folder = Path(tempfile.mkdtemp(prefix="cbench-pg-", dir="/tmp"))
    server = None
    try:
        server = EmbeddedPostgres(folder, stop_at_exit=True)
        yield server.dsn()
    finally:
        if server is not None:
            with contextlib.suppress(Exception):
                server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.asynccontextmanager
async def new_database(server_dsn: str):
    """A new, empty database on that server, dropped at the end."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield urlunsplit(urlsplit(server_dsn)._replace(path=f"/{name}"))
    finally:
        admin = await asyncpg.connect(server_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@contextlib.asynccontextmanager
async def fresh_database():
    """A new database on DATABASE_URL's server, or on an embedded PostgreSQL in a /tmp folder."""
    with database_server() as server_dsn:
        async with new_database(server_dsn) as dsn:
            yield dsn


async def outbox_rows(dsn: str) -> tuple[list[dict[str, Any]], int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """SELECT o.id, b.name AS bot, o.priority, o.status, o.reason, o.answers_message_id,
                      o.reply_to_message_id, o.telegram_message_id, o.attempts, o.text,
                      extract(epoch FROM o.created_at) AS created, extract(epoch FROM o.finished_at) AS finished,
                      extract(epoch FROM o.not_before) AS not_before
               FROM outbox o JOIN bots b ON b.id = o.bot_id ORDER BY o.id""")
        incoming = await conn.fetchval("SELECT count(*) FROM messages WHERE is_incoming")
        outgoing = await conn.fetchval("SELECT count(*) FROM messages WHERE NOT is_incoming")
    finally:
        await conn.close()
    out = [{k: (float(v) if k in ("created", "finished", "not_before") and v is not None else v)
            for k, v in dict(r).items()} for r in rows]
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
    limits = loaded.roster.limits
    emulator.use_limits(limits_for(limits.global_per_second, limits.per_chat_per_minute))
    cipher = TokenCipher.from_setting(generate_key())
    assert cipher is not None
    chat = loaded.roster.chats[0]
    people = max(args.people, 1)
    spec = CrowdSpec(chat_id=chat.id, normal=people - 2 * (people // 5), mention=people // 5, reply=people // 5,
                     duration=args.duration, rate_multiplier=args.rate, seed=args.seed)
    crowd = Crowd(emulator, spec)
    events = EventCounter()
    logging.getLogger().addHandler(events)
    base_url = await emulator.start(host="127.0.0.1", port=0)
    timings: dict[str, float] = {}
    try:
        async with fresh_database() as dsn:
            started = time.time()
            async with Runner(loaded, dsn=dsn, api_base=base_url, cipher=cipher, poll_timeout=10,
                              conversation=True, seed=args.seed, pace_scale=args.pace) as runner:
                await runner.wait_polling()
                timings["ready_s"] = time.time() - started
                crowd_started = time.time()
                crowd_task = asyncio.create_task(crowd.run())
                next_line = crowd_started + args.progress
                while not crowd_task.done():
                    await asyncio.wait([crowd_task], timeout=1.0)
                    if time.time() >= next_line:
                        next_line += args.progress
                        print(f"  t={time.time() - crowd_started:5.0f}s posted {len(emulator.posted)}, "
                              f"bots sent {len(emulator.sent())}, outbox queue {runner.outbox.backlog}, "
                              f"violations {sum(emulator.violations.values())}", file=sys.stderr, flush=True)
                await crowd_task
                crowd_ended = time.time()
                await emulator.wait_confirmed(timeout=60)
                rooms, outbox = runner.rooms, runner.outbox
                assert rooms is not None and outbox is not None
                # No new chatter from here; the answers still being written or waiting go out.
                deadline = time.time() + args.grace
                if hasattr(rooms, "stop_chatter"):
                    await rooms.stop_chatter()
                else:
                    rooms.set_scale(0)
                if hasattr(rooms, "settle_answers"):
                    await rooms.settle_answers(timeout=args.grace)
                else:
                    while rooms._answers and time.time() < deadline:
                        await asyncio.sleep(0.1)
                with contextlib.suppress(TimeoutError):
                    await outbox.drain_until_idle(timeout=max(1.0, deadline - time.time()))
                timings["drain_s"] = time.time() - crowd_ended
                room_counts = {"addressed": rooms.counts.addressed, "answered (queued)": rooms.counts.answered,
                               "volunteered": rooms.counts.volunteered, "skipped": dict(rooms.counts.skipped)}
                outbox_counts = dict(vars(outbox.counts))
                left_queued = outbox.backlog
                await rooms.stop()
            rows, incoming, outgoing = await outbox_rows(dsn)
    finally:
        logging.getLogger().removeHandler(events)
        await emulator.stop()
    return analyse(args, emulator, crowd, rows, incoming, outgoing, room_counts, outbox_counts, left_queued,
                   events, timings, crowd_started, crowd_ended)


def analyse(args, emulator: Emulator, crowd: Crowd, rows, incoming, outgoing, room_counts, outbox_counts, left_queued,
            events: EventCounter, timings, crowd_started: float, crowd_ended: float) -> dict[str, Any]:
    sent = emulator.sent()
    posted = emulator.posted
    row_by_tg = {r["telegram_message_id"]: r for r in rows if r["telegram_message_id"] is not None}
    kinds = Counter()
    for s in sent:
        row = row_by_tg.get(s.message_id)
        kinds["answer" if row and row["priority"] == 0 else "chatter" if row else "unknown"] += 1
    texts = [(s.bot_name, s.text) for s in sent]
    chatter_texts = [(s.bot_name, s.text) for s in sent if (r := row_by_tg.get(s.message_id)) and r["priority"] == 1]
    answer_texts = [(s.bot_name, s.text) for s in sent if (r := row_by_tg.get(s.message_id)) and r["priority"] == 0]

    # Addressed posts and their answers.
    replies: dict[int, list[Any]] = defaultdict(list)
    for s in sent:
        if s.reply_to_message_id is not None:
            replies[s.reply_to_message_id].append(s)
    rows_by_answer = {r["answers_message_id"]: r for r in rows if r["answers_message_id"] is not None}
    addressed = crowd.result.addressed
    answered, unanswered = [], []
    latency, latency_wo_typing = [], []
    by_via: dict[str, Counter[str]] = defaultdict(Counter)
    answered_by_other = 0
    for post in addressed:
        mine = [s for s in replies.get(post.message_id, []) if s.bot_name == post.addressed]
        by_via[post.via or "?"]["addressed"] += 1
        if mine:
            answer = mine[0]
            answered.append(post)
            by_via[post.via or "?"]["answered"] += 1
            wait = answer.at - post.available_at
            latency.append(wait)
            latency_wo_typing.append(wait - Composer.typing_delay(answer.text))
        else:
            if replies.get(post.message_id):
                answered_by_other += 1
            row = rows_by_answer.get(post.message_id)
            unanswered.append({
                "message_id": post.message_id, "kind": post.kind, "via": post.via, "addressed": post.addressed,
                "text": post.text, "available_at_s": round(post.available_at - crowd_started, 2),
                "replied_by": [s.bot_name for s in replies.get(post.message_id, [])],
                "outbox": None if row is None else {k: row[k] for k in ("bot", "priority", "status", "reason")},
            })
    status = Counter((("answer" if r["priority"] == 0 else "chatter"), r["status"]) for r in rows)
    waits = defaultdict(list)  # queue wait: sent - max(created, not_before)
    for r in rows:
        if r["status"] == "sent" and r["finished"] is not None:
            kind = "answer" if r["priority"] == 0 else "chatter"
            waits[kind].append(r["finished"] - max(r["created"], r["not_before"] or 0))
    duration = crowd_ended - crowd_started
    return {
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "timings": {**{k: round(v, 2) for k, v in timings.items()}, "crowd_s": round(duration, 2)},
        "people": {"posted": len(posted), "by_kind": crowd.result.by_kind(), "addressed": len(addressed),
                   "stored": incoming, "lost": max(len(posted) - incoming, 0)},
        "bots": {"sent": len(sent), "stored": outgoing, "chatter": kinds["chatter"], "answers": kinds["answer"],
                 "unmatched": kinds["unknown"],
                 "per_bot": dict(sorted(Counter(s.bot_name for s in sent).items())),
                 "per_minute": round(len(sent) / (duration / 60), 2) if duration else None},
        "repeats": repeats(texts),
        "repeats_chatter": repeats(chatter_texts),
        "repeats_answers": repeats(answer_texts),
        "shapes": shapes(texts),
        "sentences": sentence_repeats(texts),
        "shapes_chatter": shapes(chatter_texts),
        "shapes_answers": shapes(answer_texts),
        "answers": {
            "addressed": len(addressed), "answered_by_addressed_bot": len(answered),
            "share": _share(len(answered), len(addressed)), "answered_only_by_another_bot": answered_by_other,
            "by_via": {via: dict(c) for via, c in by_via.items()},
            "rooms": room_counts,
            "unanswered": unanswered,
        },
        "latency_s": summary(latency),
        "latency_minus_typing_s": summary(latency_wo_typing),
        "queue_wait_s": {kind: summary(values) for kind, values in waits.items()},
        "outbox": {"counts": outbox_counts, "left_queued": left_queued,
                   "rows": {f"{k}:{s}": n for (k, s), n in sorted(status.items())}},
        "emulator": {"violations": dict(emulator.violations), "rate_limited": dict(emulator.rate_limited),
                     "stats_requests": emulator.stats()["requests"]},
        "timeline_per_minute": timeline(posted, sent, row_by_tg, crowd_started),
        "sent_messages": [{"bot": m.bot_name, "at_s": round(m.at - crowd_started, 3), "message_id": m.message_id,
                           "reply_to": m.reply_to_message_id, "text": m.text,
                           "kind": {0: "answer", 1: "chatter"}.get((row_by_tg.get(m.message_id) or {}).get("priority"))}
                          for m in sent],
        "addressed_posts": [{"message_id": p.message_id, "kind": p.kind, "via": p.via, "addressed": p.addressed,
                             "at_s": round(p.available_at - crowd_started, 3), "text": p.text} for p in addressed],
        "log_events": {k: v for k, v in events.counts.most_common() if not k.startswith(("message.", "poll"))},
        "log_samples": {k: v for k, v in events.samples.items()
                        if k in ("answer.skipped", "answer.failed", "send.expired", "send.failed", "send.rate_limited")},
    }


def timeline(posted, sent, row_by_tg, start: float) -> list[dict[str, int]]:
    """Per minute of the run: people's posts, bots' chatter and answers."""
    minutes: dict[int, Counter[str]] = defaultdict(Counter)
    for p in posted:
        minutes[int((p.available_at - start) // 60)]["posts"] += 1
    for m in sent:
        row = row_by_tg.get(m.message_id)
        kind = "unknown" if row is None else "answers" if row["priority"] == 0 else "chatter"
        minutes[int((m.at - start) // 60)][kind] += 1
    return [{"minute": k, **dict(minutes[k])} for k in sorted(minutes)]


# --------------------------------------------------------------------------- report


def markdown(result: dict[str, Any]) -> str:
    a, r, s, sn = result["args"], result["repeats"], result["shapes"], result["sentences"]
    lat, latn, ans = result["latency_s"], result["latency_minus_typing_s"], result["answers"]
    ob = result["outbox"]["counts"]
    viol = sum(result["emulator"]["violations"].values())

    def pct(x: float | None) -> str:
        return "–" if x is None else f"{100 * x:.1f}%"

    lines = [
        (f"Conversation run: {a['duration']:.0f} s, pace ×{a['pace']}, {a['people']} people at rate ×{a['rate']}, "
        f"seed {a['seed']} ({result['machine']['cores']} cores, Python {result['machine']['python']})"),
        "",
        "| measure | value |",
        "|---|---|",
        (f"| people posted / stored / lost | {result['people']['posted']} / {result['people']['stored']} / "
        f"{result['people']['lost']} |"),
        (f"| bots sent (chatter + answers) | {result['bots']['sent']} ({result['bots']['chatter']} + "
        f"{result['bots']['answers']}), {result['bots']['per_minute']}/min |"),
        (f"| repeated messages, per bot (own earlier shape) | {r['repeated_own']}/{r['messages']} = "
        f"{pct(r['repeated_own_share'])} |"),
        (f"| repeated messages, across all bots | {r['repeated_any_bot']}/{r['messages']} = "
        f"{pct(r['repeated_any_bot_share'])} |"),
        (f"| repeated chatter / answers (per bot) | {pct(result['repeats_chatter']['repeated_own_share'])} / "
        f"{pct(result['repeats_answers']['repeated_own_share'])} |"),
        f"| distinct shapes / distinct texts | {s['distinct_shapes']} / {s['distinct_texts']} of {r['messages']} |",
        (f"| sentences a bot had already used (per bot) | {sn['repeated_own_sentences']}/{sn['sentences']} = "
        f"{pct(sn['repeated_own_sentence_share'])}; distinct sentences {sn['distinct_sentences']} |"),
        (f"| messages opening (first 3 words) like an earlier one of the same bot | "
        f"{sn['messages_opening_like_an_earlier_own_message']}/{r['messages']} = {pct(sn['opening_repeat_share'])}; "
        f"distinct openings {sn['distinct_openings']} |"),
        (f"| addressed messages answered by that bot | {ans['answered_by_addressed_bot']}/{ans['addressed']} = "
        f"{pct(ans['share'])} |"),
        f"| reply latency P50 / P95 / max | {lat['p50']} / {lat['p95']} / {lat['max']} s |",
        f"| … minus typing delay P50 / P95 / max | {latn['p50']} / {latn['p95']} / {latn['max']} s |",
        f"| limit violations (emulator) | {viol} |",
        (f"| outbox sent / failed / expired / rate_limited | {ob['sent']} / {ob['failed']} / {ob['expired']} / "
        f"{ob['rate_limited']} (max queue {ob['max_queue']}) |"),
        "",
        "| bot | sent | repeats (own) | shapes | texts |",
        "|---|---|---|---|---|",
    ]
    for bot, stats in r["per_bot"].items():
        sh = s["per_bot"][bot]
        lines.append(f"| {bot} | {stats['messages']} | {stats['repeats']} ({pct(stats['share'])}) | "
                     f"{sh['shapes']} | {sh['texts']} |")
    return "\n".join(lines) + "\n"


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
    parser.add_argument("--reanalyse", type=Path, metavar="JSON", help="recompute the text measures of a saved result")
    return parser


def reanalyse(path: Path) -> dict[str, Any]:
    """Recompute the text measures of a saved --json result (e.g. after changing normalize)."""
    result = json.loads(path.read_text(encoding="utf-8"))
    sent = result["sent_messages"]
    texts = [(m["bot"], m["text"]) for m in sent]
    result["repeats"], result["shapes"], result["sentences"] = repeats(texts), shapes(texts), sentence_repeats(texts)
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
