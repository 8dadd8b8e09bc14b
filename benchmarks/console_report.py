"""The console benchmark's figures against issue 12's goals, as JSON and Markdown."""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.lib.figures import fmt, summary

GOAL_IDLE_PCT = 1.0  # issue 12: "the console adds under 1% of a core to an idle 50-bot runner with a page open"
GOAL_LIVE_S = 1.0  # issue 12: "the live view shows a message within 1 s of it being stored"


def mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 3) if values else None


def figures(run: dict[str, Any]) -> dict[str, Any]:
    windows = run["windows"]
    closed = [w["runner_cpu_pct"] for w in windows if w["page"] == "closed"]
    opened = [w["runner_cpu_pct"] for w in windows if w["page"] == "open"]
    rounds = sorted({w["round"] for w in windows})
    by_round = {(w["round"], w["page"]): w["runner_cpu_pct"] for w in windows}
    differences = [
        round(by_round[(r, "open")] - by_round[(r, "closed")], 3)
        for r in rounds
        if (r, "open") in by_round and (r, "closed") in by_round
    ]
    difference = None if not closed or not opened else round(statistics.fmean(opened) - statistics.fmean(closed), 3)
    samples = run["live"]
    arrived = [s for s in samples if s["event_at"] is not None]
    stored_to_event = [s["event_at"] - s["stored_at"] for s in arrived if s["stored_at"] is not None]
    live: dict[str, Any] = {
        "messages": len(samples),
        "missed": len(samples) - len(arrived),
        "stored_to_event_s": summary(stored_to_event),
        "posted_to_event_s": summary([s["event_at"] - s["posted_at"] for s in arrived]),
        "posted_to_stored_s": summary([s["stored_at"] - s["posted_at"] for s in arrived if s["stored_at"] is not None]),
    }
    idle_ok = difference is not None and difference < GOAL_IDLE_PCT
    worst = live["stored_to_event_s"]["max"]
    live_ok = not live["missed"] and worst is not None and worst < GOAL_LIVE_S
    unmet = [name for name, ok in (("idle cost", idle_ok), ("live latency", live_ok)) if not ok]
    return {
        "idle_closed_cpu_pct": mean(closed),
        "idle_open_cpu_pct": mean(opened),
        "idle_difference_pct": difference,
        "idle_difference_by_round_pct": differences,
        "idle_goal_pct": GOAL_IDLE_PCT,
        "idle_ok": idle_ok,
        **{f"live_{key}": value for key, value in live.items()},
        "live_goal_s": GOAL_LIVE_S,
        "live_ok": live_ok,
        "verdict": "both hold" if idle_ok and live_ok else "not met: " + ", ".join(unmet),
    }


def verdict_word(ok: bool) -> str:
    return "holds" if ok else "NOT MET"


def markdown(result: dict[str, Any]) -> str:
    f, args = result["figures"], result["args"]
    machine = result["machine"]
    lines = [
        "# Console: idle cost and live latency (issue 12)",
        "",
        f"`{result['command']}` at {result['started_at']}; code {result['code']}; "
        f"{args['bots']} bots in one supergroup (pace 0, no people posting while idle); "
        f"{machine['nproc']} cores ({machine['cpu_model']}), "
        f"load {machine['loadavg_at_start']} at start, {result['loadavg_at_end']} at end.",
        "",
        f"## Idle cost: the runner's CPU, % of one core, {args['idle']:g} s windows (A/B interleaved)",
        "",
        "| round | page | runner CPU % | PostgreSQL CPU % | DB commits/s | events | keepalives |",
        "|---|---|---|---|---|---|---|",
    ]
    for w in result["windows"]:
        lines.append(
            f"| {w['round']} | {w['page']} | {fmt(w['runner_cpu_pct'])} | {fmt(w.get('postgres_cpu_pct'))} | "
            f"{fmt(w['db_commits_per_s'])} | {fmt(w.get('events'))} | {fmt(w.get('keepalives'))} |"
        )
    lines += [
        "",
        f"Page closed {fmt(f['idle_closed_cpu_pct'])} %, open {fmt(f['idle_open_cpu_pct'])} % of a core: "
        f"the console adds **{fmt(f['idle_difference_pct'])} %** (by round: "
        f"{', '.join(fmt(d) for d in f['idle_difference_by_round_pct']) or '–'}); "
        f"goal under {f['idle_goal_pct']:g} %: **{verdict_word(f['idle_ok'])}**.",
        f"Page load (GET /chats/<id>): {', '.join(f'{ms:.0f} ms' for ms in result['page_ms'])}.",
        "",
        f"## Live view: {f['live_messages']} people's messages, one at a time, the chat page open",
        "",
        "| from | to | n | P50 s | P95 s | max s |",
        "|---|---|---|---|---|---|",
    ]
    for key, start, end in (
        ("stored_to_event_s", "stored (messages.created_at)", "event at the client"),
        ("posted_to_event_s", "posted (emulator queued it)", "event at the client"),
        ("posted_to_stored_s", "posted (emulator queued it)", "stored"),
    ):
        s = f[f"live_{key}"]
        lines.append(f"| {start} | {end} | {s['n']} | {fmt(s['p50'])} | {fmt(s['p95'])} | {fmt(s['max'])} |")
    clock = result["clock"]
    lines += [
        "",
        f"Missed (no event within {args['event_timeout']:g} s): {f['live_missed']}. PostgreSQL's clock minus the "
        f"client's: {clock['offset_s'] * 1000:+.2f} ms (round trip {clock['round_trip_s'] * 1000:.2f} ms), "
        "taken out of created_at.",
        f"Goal: every message on the page within {f['live_goal_s']:g} s of being stored: "
        f"**{verdict_word(f['live_ok'])}**.",
        "",
        "## Stop with the page open",
        "",
        f"SIGTERM with the live stream open: exit {result['runner_stop']['exit']} after "
        f"{result['runner_stop']['stop_s']} s (killed: {result['runner_stop']['killed']}); the server ended the "
        f"stream: {result['stream_ended_on_stop']}; warnings and errors in the runner's log: "
        f"{len(result['log_warnings_errors'])}.",
        "",
        f"**Verdict: {f['verdict']}.**",
    ]
    return "\n".join(lines) + "\n"
