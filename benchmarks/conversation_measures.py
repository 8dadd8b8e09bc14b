"""The conversation benchmark's measures: message shapes, repeats, answers, latency, the timeline.

Pure: from the emulator's sent list, the crowd's posts and the outbox rows to
the result dictionary benchmarks/conversation.py prints and saves.
"""

from __future__ import annotations

import os
import platform
import re
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from benchmarks.lib.figures import share, summary
from piyasa_bot.conversation import Composer

_KINDS: dict[Any, str] = {0: "answer", 1: "chatter"}  # outbox priority -> kind of message

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
        "repeated_own_share": share(repeated_own, total),
        "repeated_any_bot": repeated_any,
        "repeated_any_bot_share": share(repeated_any, total),
        "per_bot": {bot: {**s, "share": share(s["repeats"], s["messages"])} for bot, s in sorted(per_bot.items())},
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
        "repeated_own_sentence_share": share(repeated, total),
        "messages_opening_like_an_earlier_own_message": opening_repeated,
        "opening_repeat_share": share(opening_repeated, messages),
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
        "per_bot": {
            bot: {"shapes": len(per_bot_shapes[bot]), "texts": len(per_bot_texts[bot])}
            for bot in sorted(per_bot_shapes)
        },
    }


def analyse(
    args,
    emulator: Any,
    crowd: Any,
    rows,
    incoming,
    outgoing,
    room_counts,
    outbox_counts,
    left_queued,
    events: Any,
    timings,
    crowd_started: float,
    crowd_ended: float,
) -> dict[str, Any]:
    """`emulator` an Emulator, `crowd` the Crowd that ran, `events` the run's log event counter."""
    sent = emulator.sent()
    posted = emulator.posted
    row_by_tg = {r["telegram_message_id"]: r for r in rows if r["telegram_message_id"] is not None}
    kinds: Counter[str] = Counter()
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
            unanswered.append(
                {
                    "message_id": post.message_id,
                    "kind": post.kind,
                    "via": post.via,
                    "addressed": post.addressed,
                    "text": post.text,
                    "available_at_s": round(post.available_at - crowd_started, 2),
                    "replied_by": [s.bot_name for s in replies.get(post.message_id, [])],
                    "outbox": None if row is None else {k: row[k] for k in ("bot", "priority", "status", "reason")},
                }
            )
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
        "people": {
            "posted": len(posted),
            "by_kind": crowd.result.by_kind(),
            "addressed": len(addressed),
            "stored": incoming,
            "lost": max(len(posted) - incoming, 0),
        },
        "bots": {
            "sent": len(sent),
            "stored": outgoing,
            "chatter": kinds["chatter"],
            "answers": kinds["answer"],
            "unmatched": kinds["unknown"],
            "per_bot": dict(sorted(Counter(s.bot_name for s in sent).items())),
            "per_minute": round(len(sent) / (duration / 60), 2) if duration else None,
        },
        "repeats": repeats(texts),
        "repeats_chatter": repeats(chatter_texts),
        "repeats_answers": repeats(answer_texts),
        "shapes": shapes(texts),
        "sentences": sentence_repeats(texts),
        "shapes_chatter": shapes(chatter_texts),
        "shapes_answers": shapes(answer_texts),
        "answers": {
            "addressed": len(addressed),
            "answered_by_addressed_bot": len(answered),
            "share": share(len(answered), len(addressed)),
            "answered_only_by_another_bot": answered_by_other,
            "by_via": {via: dict(c) for via, c in by_via.items()},
            "rooms": room_counts,
            "unanswered": unanswered,
        },
        "latency_s": summary(latency),
        "latency_minus_typing_s": summary(latency_wo_typing),
        "queue_wait_s": {kind: summary(values) for kind, values in waits.items()},
        "outbox": {
            "counts": outbox_counts,
            "left_queued": left_queued,
            "rows": {f"{k}:{s}": n for (k, s), n in sorted(status.items())},
        },
        "emulator": {
            "violations": dict(emulator.violations),
            "rate_limited": dict(emulator.rate_limited),
            "stats_requests": emulator.stats()["requests"],
        },
        "timeline_per_minute": timeline(posted, sent, row_by_tg, crowd_started),
        "sent_messages": [
            {
                "bot": m.bot_name,
                "at_s": round(m.at - crowd_started, 3),
                "message_id": m.message_id,
                "reply_to": m.reply_to_message_id,
                "text": m.text,
                "kind": _KINDS.get((row_by_tg.get(m.message_id) or {}).get("priority")),
            }
            for m in sent
        ],
        "addressed_posts": [
            {
                "message_id": p.message_id,
                "kind": p.kind,
                "via": p.via,
                "addressed": p.addressed,
                "at_s": round(p.available_at - crowd_started, 3),
                "text": p.text,
            }
            for p in addressed
        ],
        "log_events": {k: v for k, v in events.counts.most_common() if not k.startswith(("message.", "poll"))},
        "log_samples": {
            k: v
            for k, v in events.samples.items()
            if k in ("answer.skipped", "answer.failed", "send.expired", "send.failed", "send.rate_limited")
        },
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
