"""Nearest-rank percentiles and a latency summary: the one implementation the load test and the benchmarks use."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# share * count lands a hair above a whole number in binary floating point
# (0.07 * 100 = 7.000000000000001); without this the rank would be one too high.
_EPSILON = 1e-9


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile, `share` in 0..1 (0.5 is the median, 1.0 the maximum); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(share * len(ordered) - _EPSILON))) - 1]


@dataclass(frozen=True)
class Latency:
    count: int
    avg: float
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, values_ms: Sequence[float]) -> Latency:
        if not values_ms:
            return cls(0, 0.0, 0.0, 0.0, 0.0, 0.0)
        return cls(
            len(values_ms),
            sum(values_ms) / len(values_ms),
            percentile(values_ms, 0.50),
            percentile(values_ms, 0.95),
            percentile(values_ms, 0.99),
            max(values_ms),
        )
