"""Borsa Istanbul's equity session: which days it trades, and from when to when.

A bot that says "borsa kapandı" must agree with the exchange, not with the
weekday alone: the equity market is closed on Turkish public holidays and
trades half a day on the eve (arife) of the two bayrams and of 29 October.

Times are Istanbul wall clock and end where continuous trading ends: 18:00
on a full day, 12:30 on a half day. The closing auction that follows (until
18:10, or 12:40) only sets the closing price; quotes stop moving at the end
of continuous trading, so that is the close people talk about.

Fixed-date holidays are law (Law 2429 on national and general holidays)
and apply in every year. Ramazan and Kurban Bayramı follow the Hijri
calendar, so they come from a table of the official dates that Diyanet
İşleri Başkanlığı publishes in its Dini Günler Takvimi (2025 and 2026 as
published; 2027 as in the same calendar, cross-checked with the Turkey
table of the python-holidays project). Outside RELIGIOUS_YEARS the bayrams
are unknown and those days count as trading days: a documented fallback,
not a guess, and nothing here logs. Extend the table before it runs out.
Extra days of administrative leave (idari izin) are not public holidays and
are not in the table; add one here only if Borsa Istanbul announces a
closure for it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from piyasa_bot.conversation.hours import ISTANBUL, istanbul

OPEN = time(10, 0)
CLOSE = time(18, 0)
HALF_DAY_CLOSE = time(12, 30)

# (month, day): name. Closed all day in every year.
_FIXED_HOLIDAYS = {
    (1, 1): "Yılbaşı",
    (4, 23): "Ulusal Egemenlik ve Çocuk Bayramı",
    (5, 1): "Emek ve Dayanışma Günü",
    (5, 19): "Atatürk'ü Anma, Gençlik ve Spor Bayramı",
    (7, 15): "Demokrasi ve Millî Birlik Günü",
    (8, 30): "Zafer Bayramı",
    (10, 29): "Cumhuriyet Bayramı",
}
# Half day in every year: the afternoon before Republic Day is a holiday.
_FIXED_HALF_DAYS = {(10, 28): "Cumhuriyet Bayramı arifesi"}


# Diyanet's official dates: the arife (eve) and the number of bayram days after it.
_RAMAZAN_DAYS, _KURBAN_DAYS = 3, 4
_BAYRAMS = (
    ("Ramazan Bayramı", date(2025, 3, 29), _RAMAZAN_DAYS),  # 30 Mar-1 Apr; the arife is a Saturday
    ("Kurban Bayramı", date(2025, 6, 5), _KURBAN_DAYS),  # 6-9 Jun
    ("Ramazan Bayramı", date(2026, 3, 19), _RAMAZAN_DAYS),  # 20-22 Mar
    ("Kurban Bayramı", date(2026, 5, 26), _KURBAN_DAYS),  # 27-30 May
    ("Ramazan Bayramı", date(2027, 3, 8), _RAMAZAN_DAYS),  # 9-11 Mar
    ("Kurban Bayramı", date(2027, 5, 15), _KURBAN_DAYS),  # 16-19 May; the arife is a Saturday
)
RELIGIOUS_YEARS = frozenset(arife.year for _, arife, _ in _BAYRAMS)


def _religious() -> tuple[dict[date, str], dict[date, str]]:
    """(closed days, half days) of the bayrams in the table, with their names."""
    closed: dict[date, str] = {}
    half: dict[date, str] = {}
    for name, arife, days in _BAYRAMS:
        half[arife] = f"{name} arifesi"
        closed.update({arife + timedelta(days=n): name for n in range(1, days + 1)})
    return closed, half


_RELIGIOUS_CLOSED, _RELIGIOUS_HALF = _religious()


def holiday(day: date) -> str | None:
    """The Turkish name of the public holiday that closes the exchange all day, or None."""
    return _RELIGIOUS_CLOSED.get(day) or _FIXED_HOLIDAYS.get((day.month, day.day))


def _half_day(day: date) -> str | None:
    return _RELIGIOUS_HALF.get(day) or _FIXED_HALF_DAYS.get((day.month, day.day))


def is_trading_day(day: date) -> bool:
    """A weekday that is not a public holiday (a half day is a trading day)."""
    return day.weekday() < 5 and holiday(day) is None


def session(day: date) -> tuple[time, time] | None:
    """(open, close) in Istanbul time, or None when the exchange is closed all day."""
    return (OPEN, _close(day)) if is_trading_day(day) else None


def _close(day: date) -> time:
    return HALF_DAY_CLOSE if _half_day(day) else CLOSE


def is_open(moment: datetime) -> bool:
    """True while continuous trading runs; `moment` is aware, in any zone."""
    local = istanbul(moment)
    hours = session(local.date())
    return hours is not None and hours[0] <= local.time() < hours[1]


def previous_trading_day(day: date) -> date:
    """The last trading day strictly before `day`."""
    # Terminates: no stretch of holidays and weekends in the table is longer than a week.
    candidate = day - timedelta(days=1)
    while not is_trading_day(candidate):
        candidate -= timedelta(days=1)
    return candidate


def last_close(moment: datetime) -> datetime:
    """The most recent session close at or before `moment`, as an aware Istanbul datetime."""
    local = istanbul(moment)
    day = local.date()
    if not is_trading_day(day) or local.time() < _close(day):
        day = previous_trading_day(day)
    return datetime.combine(day, _close(day), tzinfo=ISTANBUL)
