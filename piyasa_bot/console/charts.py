"""Charts drawn on the server: each a few SVG polylines over the last hours, minute by minute.

Only numbers reach the SVG (points and tick labels computed here); the template
draws them, autoescaped like every other page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from piyasa_bot.console.queries import MinuteFigures

WIDTH, HEIGHT = 720, 180
LEFT, BOTTOM, TOP = 44, 22, 10  # margins for the axis labels


@dataclass(frozen=True)
class Series:
    name: str
    css: str  # the class that colours it (console.css: no inline style passes the page's CSP)
    points: str  # "x,y x,y ..." in the chart's coordinates


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    top: float  # the value at the top of the plot
    series: tuple[Series, ...]
    start: datetime | None
    end: datetime | None
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom: int = BOTTOM
    plot_top: int = TOP


def draw(figures: Sequence[MinuteFigures], hours: int) -> list[Chart]:
    end = figures[-1].minute if figures else None
    start = end - timedelta(hours=hours) if end is not None else None
    return [
        _chart(
            "Messages a minute",
            "",
            figures,
            start,
            end,
            (("people", "first", _of("received")), ("bots", "second", _of("sent"))),
        ),
        _chart(
            "Ingest latency (Telegram's date to stored)",
            "s",
            figures,
            start,
            end,
            (("P50", "first", _of("ingest_p50")), ("P95", "second", _of("ingest_p95"))),
        ),
        _chart(
            "Answer latency (a person's message to the bot's reply)",
            "s",
            figures,
            start,
            end,
            (("P50", "first", _of("answer_p50")), ("P95", "second", _of("answer_p95"))),
        ),
    ]


def _of(field: str) -> Callable[[MinuteFigures], float | None]:
    def value(row: MinuteFigures) -> float | None:
        number = getattr(row, field)
        return None if number is None else float(number)

    return value


def _chart(
    title: str,
    unit: str,
    figures: Sequence[MinuteFigures],
    start: datetime | None,
    end: datetime | None,
    lines: Sequence[tuple[str, str, Callable[[MinuteFigures], float | None]]],
) -> Chart:
    values = [value for _, _, read in lines for row in figures if (value := read(row)) is not None]
    top = _nice(max(values)) if values else 1.0
    series = tuple(Series(name, css, _points(figures, read, start, end, top)) for name, css, read in lines)
    return Chart(title=title, unit=unit, top=top, series=series, start=start, end=end)


def _points(
    figures: Sequence[MinuteFigures],
    read: Callable[[MinuteFigures], float | None],
    start: datetime | None,
    end: datetime | None,
    top: float,
) -> str:
    if start is None or end is None:
        return ""
    span = max((end - start).total_seconds(), 60.0)
    plot_w, plot_h = WIDTH - LEFT, HEIGHT - BOTTOM - TOP
    points = []
    for row in figures:
        value = read(row)
        if value is None or row.minute < start:
            continue
        x = LEFT + plot_w * (row.minute - start).total_seconds() / span
        y = TOP + plot_h * (1 - min(value, top) / top)
        points.append(f"{x:.1f},{y:.1f}")
    return " ".join(points)


def _nice(value: float) -> float:
    """A round number at or above `value` for the top of an axis: 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)
