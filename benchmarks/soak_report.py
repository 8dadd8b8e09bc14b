"""A soak's figures: least-squares slopes after the warm-up, what grew, as JSON and Markdown."""

from __future__ import annotations

import argparse
import statistics
from typing import Any

MIB = 1024 * 1024
GOAL_MIB_PER_MINUTE = 0.05  # issue 13: "a slope under 0.05 MiB a minute after warm-up"


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, bytes) as MiB a minute."""
    if len(points) < 3:
        return None
    fit = statistics.linear_regression([t for t, _ in points], [v for _, v in points])
    return round(fit.slope * 60 / MIB, 4)


def figures(run: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    start, warm = run["started"], run["warmup_end"]
    after = [s for s in run["samples"] if s["t"] >= warm]
    heap_after = [h for h in run["heap"] if h["t"] >= warm]
    out: dict[str, Any] = {
        "rss_slope_mib_per_min": slope([(s["t"], s["rss"]) for s in after]),
        "rss_start_mib": round(run["samples"][0]["rss"] / MIB, 1) if run["samples"] else None,
        "rss_after_warmup_mib": round(after[0]["rss"] / MIB, 1) if after else None,
        "rss_end_mib": round(run["samples"][-1]["rss"] / MIB, 1) if run["samples"] else None,
        "samples_after_warmup": len(after),
    }
    for key in ("pymalloc_allocated", "pymalloc_arenas", "malloc_in_use", "malloc_free", "traced"):
        points = [(h["t"], h[key]) for h in heap_after if key in h]
        out[f"{key}_slope_mib_per_min"] = slope(points)
        out[f"{key}_end_mib"] = round(points[-1][1] / MIB, 1) if points else None
    if len(after) >= 2:
        span = after[-1]["t"] - after[0]["t"]
        out["achieved_rate_msg_s"] = round((after[-1]["posted"] - after[0]["posted"]) / span, 2) if span else None
        out["runner_cpu_pct"] = round(100 * (after[-1]["cpu_s"] - after[0]["cpu_s"]) / span, 1) if span else None
    censuses = [h for h in run["heap"] if "census" in h]
    first = next((h for h in censuses if h["t"] >= warm), None)
    if first is not None and censuses[-1] is not first:
        last = censuses[-1]
        names = set(first["census"]) | set(last["census"])
        growth = sorted(((last["census"].get(n, 0) - first["census"].get(n, 0), n) for n in names), reverse=True)
        minutes = (last["t"] - first["t"]) / 60
        out["top_growing_types"] = [
            {"type": n, "delta": d, "per_min": round(d / minutes, 1), "end": last["census"].get(n, 0)}
            for d, n in growth[:15]
            if d > 0
        ]
        out["tracked_objects_start_end"] = [sum(first["census"].values()), sum(last["census"].values())]
    sites = [h["sites"] for h in run["heap"] if "sites" in h]
    out["top_growing_sites"] = sites[-1] if sites else []
    out["per_minute"] = [
        {"min": round((s["t"] - start) / 60, 1), "rss_mib": round(s["rss"] / MIB, 1)}
        for s in run["samples"][:: max(1, round(60 / args.every))]
    ]
    out["verdict"] = (
        None
        if out["rss_slope_mib_per_min"] is None
        else "flat"
        if out["rss_slope_mib_per_min"] < GOAL_MIB_PER_MINUTE
        else "growing"
    )
    return out


def markdown(result: dict[str, Any]) -> str:
    f, a = result["figures"], result["args"]
    setup = (
        f"code {result['code']}, warm-up {a['warmup']:g} min, RSS every {a['every']:g} s, "
        f"census every {a['census_every']:g} s{' after gc.collect()' if a['collect'] else ''}, "
        f"machine {result['machine']}"
    )
    headline = (
        f"**RSS slope after warm-up: {f['rss_slope_mib_per_min']} MiB/min** (goal < {GOAL_MIB_PER_MINUTE}: "
        f"{f['verdict']}); RSS {f['rss_start_mib']} → {f['rss_after_warmup_mib']} (after warm-up) → "
        f"{f['rss_end_mib']} MiB"
    )
    checks = (
        f"posted {result['posted']} {result['crowd']}, stored {result['stored']}, "
        f"all confirmed {result['all_confirmed']}, "
        f"achieved {f.get('achieved_rate_msg_s')} msg/s, runner CPU {f.get('runner_cpu_pct')} %, "
        f"ready after {result['ready_s']} s, stop {result['runner_stop']}, "
        f"warning/error log lines {result['log_warnings_errors']}"
    )
    lines = [
        f"# Soak: {a['minutes']:g} min, {a['bots']} bots, {a['rate']:g} human msg/s ({result['started_at']})",
        "",
        f"`{result['command']}`  ",
        setup,
        "",
        headline,
        "",
        checks,
        "",
        "| after warm-up | slope MiB/min | at end MiB |",
        "|---|---|---|",
    ]
    for key, label in (
        ("pymalloc_allocated", "pymalloc: bytes in allocated blocks"),
        ("pymalloc_arenas", "pymalloc: arenas"),
        ("malloc_in_use", "malloc: in use"),
        ("malloc_free", "malloc: held free"),
        ("traced", "tracemalloc: traced"),
    ):
        lines.append(f"| {label} | {f[f'{key}_slope_mib_per_min']} | {f[f'{key}_end_mib']} |")
    lines += [
        "",
        "Top growing object types (gc census, after warm-up to the end):",
        "",
        "| type | grew by | per minute | at end |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{g['type']}` | {g['delta']} | {g['per_min']} | {g['end']} |" for g in f.get("top_growing_types", [])]
    if f["top_growing_sites"]:
        lines += ["", "Top growing allocation sites (tracemalloc):", "", "| where | KiB | blocks |", "|---|---|---|"]
        lines += [f"| `{s['where']}` | {s['kib']} | {s['count']} |" for s in f["top_growing_sites"]]
    lines += ["", "RSS each minute: " + ", ".join(f"{p['min']:g}: {p['rss_mib']}" for p in f["per_minute"]), ""]
    return "\n".join(lines)
