"""The report: the reference's table and criteria, what it never measured, a latency chart."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from piyasa_bot.loadtest.measure import Results
from piyasa_bot.loadtest.options import LoadtestOptions
from piyasa_bot.loadtest.percentiles import percentile

# The earlier system's run: 50 bots, 100 people, 5 minutes.
REFERENCE = {"messages": 993, "throughput": 2.77, "avg": 228, "p50": 109, "p95": 1647, "p99": 1994, "max_queue": 0}


# A message that waited for PostgreSQL is stored within this long of it accepting connections again:
# the writer retries at least every second (db/retry.py MAX_BACKOFF), then commits its batch.
OUTAGE_RECOVERY_MS = 2000.0


@dataclass(frozen=True)
class Criterion:
    name: str
    target: str
    measured: str
    passed: bool


def criteria(results: Results, options: LoadtestOptions) -> list[Criterion]:
    answered_share = results.answered / results.addressed if results.addressed else 1.0
    violations = sum(results.violations.values())
    outage = results.outage
    held = []
    if outage is not None:
        held = [
            Criterion(
                f"held by the {outage.seconds:.1f} s PostgreSQL outage ({outage.held}): stored once it is back",
                f"< {OUTAGE_RECOVERY_MS / 1000:g} s",
                f"{outage.stored_after_back_ms:,.0f} ms",
                outage.stored_after_back_ms < OUTAGE_RECOVERY_MS,
            )
        ]
    return [
        Criterion("error rate", "< 1%", f"{results.error_rate:.2%}", results.error_rate < 0.01),
        Criterion(
            "ingest latency P95" + (" (not held by the outage)" if outage is not None else ""),
            "< 5 s",
            f"{results.ingest.p95:,.0f} ms",
            results.ingest.p95 < 5000,
        ),
        *held,
        Criterion("max queue size", "< 1,000", f"{results.max_queue:,}", results.max_queue < 1000),
        Criterion(
            "bot sends",
            "under 30 msg/s",
            f"{results.bot_messages_sent / results.duration:.2f} msg/s",
            results.bot_messages_sent / results.duration < 30,
        ),
        Criterion("messages lost", "0", f"{results.lost}", results.lost == 0),
        Criterion("duplicates stored", "0", f"{results.duplicates}", results.duplicates == 0),
        Criterion("limit violations", "0", f"{violations}", violations == 0),
        Criterion(
            "addressed messages answered", "100%", f"{results.answered}/{results.addressed}", answered_share == 1.0
        ),
    ]


def _outage_lines(results: Results, options: LoadtestOptions) -> list[str]:
    outage, every = results.outage, results.ingest_all
    if outage is None or every is None:
        return []
    return [
        (
            f"PostgreSQL was down {outage.seconds:.1f} s ({options.db_outage:g} s asked, plus its own stop and "
            f"start). The latencies above leave out the {outage.held:,} messages it held; the last of those "
            f"was stored {outage.stored_after_back_ms:,.0f} ms after the database was back. With them, "
            f"P50/P95/P99/max {every.p50:,.0f} / {every.p95:,.0f} / {every.p99:,.0f} / {every.max:,.0f} ms."
        ),
        "",
    ]


def markdown(results: Results, options: LoadtestOptions, chart_name: str) -> str:
    checks = criteria(results, options)
    faults = (
        (
            f"429 rate {options.fault_429}, 5xx rate {options.fault_5xx}, slow API {options.slow_api_ms} ms, "
            f"PostgreSQL outage {options.db_outage:g} s"
        )
        if options.faulty
        else "none"
    )
    lines = [
        f"# Load test: {options.bots} bots, {options.users} people, {results.duration:.0f} s",
        "",
        (
            f"Privacy mode {options.privacy}; people's pace ×{options.rate_multiplier:g}; "
            f"seed {options.seed}; faults: {faults}."
        ),
        "",
        f"**Result: {'PASS' if all(c.passed for c in checks) else 'FAIL'}**",
        "",
        "## Criteria",
        "",
        "| criterion | target | measured | |",
        "|---|---|---|---|",
        *[f"| {c.name} | {c.target} | {c.measured} | {'pass' if c.passed else '**FAIL**'} |" for c in checks],
        "",
        "## The reference's table",
        "",
        "| | this run | reference |",
        "|---|---|---|",
        f"| messages (people stored + bots sent) | {results.stored + results.bot_messages_sent:,} "
        f"| {REFERENCE['messages']:,} |",
        f"| throughput | {results.throughput:.2f} msg/s | {REFERENCE['throughput']} msg/s |",
        f"| error rate | {results.error_rate:.2%} | 0% |",
        f"| latency avg | {results.ingest.avg:,.1f} ms | {REFERENCE['avg']:,} ms |",
        f"| latency P50 | {results.ingest.p50:,.1f} ms | {REFERENCE['p50']:,} ms |",
        f"| latency P95 | {results.ingest.p95:,.1f} ms | {REFERENCE['p95']:,} ms |",
        f"| latency P99 | {results.ingest.p99:,.1f} ms | {REFERENCE['p99']:,} ms |",
        f"| latency max | {results.ingest.max:,.1f} ms | |",
        f"| max queue size | {results.max_queue:,} | {REFERENCE['max_queue']} |",
        (
            f"| bot messages sent / failed / rate limited | {results.bot_messages_sent:,} / {results.sends_failed:,} / "
            f"{results.sends_rate_limited:,} | |"
        ),
        f"| database records | {', '.join(f'{k} {v:,}' for k, v in results.db_records.items())} | |",
        "",
        (
            "Latency here is ingest latency: from the emulator making a person's message available to its row "
            "being committed. The reference measured only how long its webhook took to answer."
        ),
        "",
        *_outage_lines(results, options),
        "## What the reference never measured",
        "",
        "| | |",
        "|---|---|",
        (
            f"| people's messages posted / delivered to a bot / stored | {results.human_messages:,} / "
            f"{results.delivered:,} / {results.stored:,} |"
        ),
        f"| messages lost | {results.lost} |",
        f"| duplicates stored / people answered twice | {results.duplicates} / {results.double_answers} |",
        f"| limit violations seen by the emulator | {_violations(results)} |",
        f"| addressed messages answered by their bot | {results.answered:,} of {results.addressed:,} |",
        (
            f"| reply latency P50 / P95 / max | {results.reply.p50 / 1000:.2f} / {results.reply.p95 / 1000:.2f} / "
            f"{results.reply.max / 1000:.2f} s |"
        ),
        (
            f"| … without the deliberate typing delay | {results.reply_without_typing.p50 / 1000:.2f} / "
            f"{results.reply_without_typing.p95 / 1000:.2f} / {results.reply_without_typing.max / 1000:.2f} s |"
        ),
        *_slowest_answer_line(results),
        f"| chatter expired unsent | {results.sends_expired:,} |",
        f"| runner CPU | {results.cpu_seconds:.1f} s ({results.cpu_share:.1%} of a core) |",
        f"| runner peak RSS | {results.peak_rss_mib:.0f} MiB |",
        "",
        f"![ingest latency over the run]({chart_name})",
        "",
    ]
    return "\n".join(lines)


def _slowest_answer_line(results: Results) -> list[str]:
    """Where the slowest answer (beyond its typing delay) spent its time, from its outbox row."""
    slow = results.slowest_answer
    if slow is None:
        return []

    def seconds(value: float | None) -> str:
        return "?" if value is None else f"{value:.2f} s"

    return [
        f"| … the slowest, {slow.beyond_typing:.2f} s beyond its typing ({slow.bot}) | queued after "
        f"{seconds(slow.queued_after)}, due {seconds(slow.deliberate_delay)} later, its send began "
        f"{seconds(slow.waited)} after that, on the wire {seconds(slow.on_the_wire)}; its bot had sent "
        f"{'?' if slow.bot_sent_in_minute_before is None else slow.bot_sent_in_minute_before} in the minute before |"
    ]


def _violations(results: Results) -> str:
    parts = [f"{kind} {count}" for kind, count in results.violations.items()]
    return f"{sum(results.violations.values())} ({', '.join(parts)})"


def svg_chart(results: Results, width: int = 720, height: int = 260) -> str:
    """Ingest latency P50 and P99 per 5-second bucket over the run."""
    buckets: dict[int, list[float]] = {}
    for at, latency in results.timeline:
        buckets.setdefault(int(at // 5), []).append(latency)
    series = {
        "P50": [(index * 5.0, percentile(values, 0.5)) for index, values in sorted(buckets.items())],
        "P99": [(index * 5.0, percentile(values, 0.99)) for index, values in sorted(buckets.items())],
    }
    top = max([value for points in series.values() for _, value in points] + [1.0]) * 1.1
    span = max(results.duration, 1.0)
    left, bottom = 50, height - 30

    def xy(at: float, value: float) -> str:
        return f"{left + at / span * (width - left - 10):.1f},{bottom - value / top * (bottom - 10):.1f}"

    colours = {"P50": "#2b6cb0", "P99": "#c53030"}
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
            'font-size="11">'
        ),
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<line x1="{left}" y1="{bottom}" x2="{width - 10}" y2="{bottom}" stroke="#888"/>',
        f'<line x1="{left}" y1="10" x2="{left}" y2="{bottom}" stroke="#888"/>',
        f'<text x="{left - 5}" y="15" text-anchor="end">{top:.0f} ms</text>',
        f'<text x="{left - 5}" y="{bottom}" text-anchor="end">0</text>',
        f'<text x="{width - 10}" y="{height - 10}" text-anchor="end">{span:.0f} s</text>',
    ]
    for position, (name, points) in enumerate(series.items()):
        if points:
            path = " ".join(xy(at, value) for at, value in points)
            parts.append(f'<polyline fill="none" stroke="{colours[name]}" stroke-width="1.5" points="{path}"/>')
        parts.append(f'<text x="{left + 10 + 60 * position}" y="{height - 10}" fill="{colours[name]}">{name}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def write_report(results: Results, options: LoadtestOptions, folder: Path, stamp: str) -> tuple[Path, str]:
    folder.mkdir(parents=True, exist_ok=True)
    chart = folder / f"loadtest-{stamp}.svg"
    chart.write_text(svg_chart(results))
    text = markdown(results, options, chart.name)
    path = folder / f"loadtest-{stamp}.md"
    path.write_text(text)
    data = {
        "options": dataclasses.asdict(options),
        "results": {k: v for k, v in dataclasses.asdict(results).items() if k != "timeline"},
        "criteria": [dataclasses.asdict(c) for c in criteria(results, options)],
    }
    (folder / f"loadtest-{stamp}.json").write_text(json.dumps(data, indent=2))
    return path, text


def passed(results: Results, options: LoadtestOptions) -> bool:
    return all(criterion.passed for criterion in criteria(results, options))
