"""Numbers for reports: percentiles, summaries, shares, medians over runs, formatting."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile, `share` in 0..1; None for no values.

    The computation is piyasa_bot.loadtest.percentiles.percentile (one
    implementation for the load test and the benchmarks), imported on first
    use so that a benchmark running a code snapshot imports the snapshot's.
    """
    from piyasa_bot.loadtest.percentiles import percentile as nearest_rank

    return nearest_rank(values, share) if values else None


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def summary(values: Sequence[float], digits: int = 3) -> dict[str, float | int | None]:
    """n, P50, P95, max and mean (None where there are no values)."""
    return {
        "n": len(values),
        "p50": rounded(percentile(values, 0.50), digits),
        "p95": rounded(percentile(values, 0.95), digits),
        "max": rounded(max(values), digits) if values else None,
        "mean": rounded(statistics.fmean(values), digits) if values else None,
    }


def share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per numeric key, the median over the runs that succeeded ("ok")."""
    ok = [r for r in runs if r.get("ok")]
    out: dict[str, Any] = {"runs": len(runs), "ok_runs": len(ok)}
    keys = {k for r in ok for k, v in r.items() if is_number(v)}
    for key in sorted(keys):
        values = [r[key] for r in ok if is_number(r.get(key))]
        if values:
            out[key] = statistics.median(values)
    return out


def fmt(value: Any) -> str:
    """A table cell: – for nothing, whole numbers from 100 on, else 1 or 2 decimals."""
    if value is None:
        return "–"
    if isinstance(value, float):
        if value == int(value) and abs(value) >= 100:
            return str(int(value))
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)
