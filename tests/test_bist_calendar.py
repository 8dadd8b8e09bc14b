"""Borsa Istanbul's calendar: bots say "borsa açık" only when the exchange trades."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from piyasa_bot.conversation.bist_calendar import (
    RELIGIOUS_YEARS,
    holiday,
    is_open,
    is_trading_day,
    last_close,
    previous_trading_day,
    session,
)
from piyasa_bot.conversation.hours import ISTANBUL

FULL_DAY = (time(10, 0), time(18, 0))
HALF_DAY = (time(10, 0), time(12, 30))

# Weekday public holidays on which the exchange is closed all day: the official dates.
CLOSED_WEEKDAYS = [
    # 2025
    date(2025, 1, 1),
    date(2025, 3, 31),  # Ramazan Bayramı 2nd day (the 1st is a Sunday)
    date(2025, 4, 1),
    date(2025, 4, 23),
    date(2025, 5, 1),
    date(2025, 5, 19),
    date(2025, 6, 6),  # Kurban Bayramı 1st day
    date(2025, 6, 9),  # 4th day, a Monday
    date(2025, 7, 15),
    date(2025, 10, 29),
    # 2026
    date(2026, 1, 1),
    date(2026, 3, 20),  # Ramazan Bayramı 1st day
    date(2026, 4, 23),
    date(2026, 5, 1),
    date(2026, 5, 19),
    date(2026, 5, 27),  # Kurban Bayramı 1st-3rd day (the 4th is a Saturday)
    date(2026, 5, 28),
    date(2026, 5, 29),
    date(2026, 7, 15),
    date(2026, 10, 29),
    # 2027
    date(2027, 1, 1),
    date(2027, 3, 9),  # Ramazan Bayramı
    date(2027, 3, 10),
    date(2027, 3, 11),
    date(2027, 4, 23),
    date(2027, 5, 17),  # Kurban Bayramı 2nd-4th day (the 1st is a Sunday); the 19th is also Youth Day
    date(2027, 5, 18),
    date(2027, 5, 19),
    date(2027, 7, 15),
    date(2027, 8, 30),
    date(2027, 10, 29),
]
HALF_DAYS = [
    date(2025, 6, 5),  # Kurban Bayramı arifesi
    date(2025, 10, 28),
    date(2026, 3, 19),  # Ramazan Bayramı arifesi
    date(2026, 5, 26),  # Kurban Bayramı arifesi
    date(2026, 10, 28),
    date(2027, 3, 8),  # Ramazan Bayramı arifesi
    date(2027, 10, 28),
]


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=ISTANBUL)


@pytest.mark.parametrize("day", CLOSED_WEEKDAYS, ids=str)
def test_closed_on_public_holidays(day: date) -> None:
    assert day.weekday() < 5, "the table of this test lists weekdays only"
    assert not is_trading_day(day)
    assert session(day) is None
    assert not is_open(at(day, 11))
    assert holiday(day)


@pytest.mark.parametrize("day", HALF_DAYS, ids=str)
def test_half_days_trade_the_morning_only(day: date) -> None:
    assert is_trading_day(day)
    assert session(day) == HALF_DAY
    assert is_open(at(day, 12, 29, 59))
    assert not is_open(at(day, 12, 30))
    assert not is_open(at(day, 15))


def test_an_ordinary_weekday_trades_ten_to_six() -> None:
    tuesday = date(2026, 3, 17)
    assert session(tuesday) == FULL_DAY
    assert not is_open(at(tuesday, 9, 59, 59))
    assert is_open(at(tuesday, 10))
    assert is_open(at(tuesday, 17, 59, 59))
    assert not is_open(at(tuesday, 18))


def test_weekends_are_closed_even_when_an_arife_falls_on_them() -> None:
    assert session(date(2026, 3, 21)) is None  # Saturday, 2nd day of Ramazan Bayramı
    assert session(date(2026, 3, 22)) is None
    assert session(date(2025, 3, 29)) is None  # Saturday, arife of Ramazan Bayramı 2025
    assert not is_open(at(date(2025, 3, 29), 11))


def test_a_moment_in_another_zone_is_read_in_istanbul_time() -> None:
    # Istanbul is UTC+3 all year: 10:00 there is 07:00 UTC.
    assert is_open(datetime(2026, 3, 17, 7, 0, tzinfo=UTC))
    assert not is_open(datetime(2026, 3, 17, 6, 59, tzinfo=UTC))
    # 23:30 UTC on Friday is already Saturday in Istanbul.
    assert last_close(datetime(2026, 3, 13, 23, 30, tzinfo=UTC)) == at(date(2026, 3, 13), 18)


def test_a_naive_moment_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(datetime(2026, 3, 17, 11, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        last_close(datetime(2026, 3, 17, 11, 0))


def test_last_close_during_and_after_a_session() -> None:
    tuesday = date(2026, 3, 17)
    assert last_close(at(tuesday, 15)) == at(date(2026, 3, 16), 18)
    assert last_close(at(tuesday, 18)) == at(tuesday, 18)
    assert last_close(at(tuesday, 23)) == at(tuesday, 18)
    assert last_close(at(tuesday, 23)).utcoffset() is not None


def test_last_close_over_a_weekend() -> None:
    monday = date(2026, 3, 9)
    assert last_close(at(monday, 9)) == at(date(2026, 3, 6), 18)
    assert last_close(at(date(2026, 3, 8), 12)) == at(date(2026, 3, 6), 18)


def test_after_a_bayram_the_last_close_is_the_arife_at_half_past_twelve() -> None:
    # Ramazan Bayramı 2026: the arife Thursday closes at 12:30, Friday to Sunday are closed.
    assert last_close(at(date(2026, 3, 23), 9, 30)) == at(date(2026, 3, 19), 12, 30)
    assert last_close(at(date(2026, 3, 19), 14)) == at(date(2026, 3, 19), 12, 30)
    # Kurban Bayramı 2026: from Wednesday 27 May to the weekend nothing trades.
    assert last_close(at(date(2026, 5, 31), 12)) == at(date(2026, 5, 26), 12, 30)


def test_previous_trading_day_skips_weekends_and_holidays() -> None:
    assert previous_trading_day(date(2026, 3, 16)) == date(2026, 3, 13)  # Monday -> Friday
    assert previous_trading_day(date(2026, 3, 23)) == date(2026, 3, 19)
    assert previous_trading_day(date(2026, 6, 1)) == date(2026, 5, 26)
    assert previous_trading_day(date(2027, 3, 12)) == date(2027, 3, 8)
    assert previous_trading_day(date(2026, 3, 18)) == date(2026, 3, 17)


def test_holiday_names_are_turkish() -> None:
    assert holiday(date(2026, 5, 27)) == "Kurban Bayramı"
    assert holiday(date(2026, 3, 20)) == "Ramazan Bayramı"
    assert holiday(date(2026, 10, 29)) == "Cumhuriyet Bayramı"
    assert holiday(date(2026, 3, 19)) is None  # a half day is not a closed day
    assert holiday(date(2026, 3, 17)) is None


def test_the_table_covers_2025_to_2027() -> None:
    assert {2025, 2026, 2027} <= RELIGIOUS_YEARS


def test_beyond_the_table_fixed_holidays_still_close_and_bayrams_are_unknown() -> None:
    assert not is_trading_day(date(2030, 1, 1))  # Yılbaşı, by law every year
    assert session(date(2030, 10, 28)) == HALF_DAY
    assert session(date(2030, 2, 5)) == FULL_DAY  # a Tuesday, nothing known
    assert session(date(2030, 2, 9)) is None  # a Saturday
    # 2024's Ramazan Bayramı is before the table: an ordinary Wednesday for this calendar.
    assert session(date(2024, 4, 10)) == FULL_DAY
