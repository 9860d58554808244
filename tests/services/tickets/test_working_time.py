"""Office hours for the tickets' service levels: due times count the hours the office is open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.services.working_time import ALWAYS, SHANGHAI, WorkingTimeError, parse_working_time

OFFICE = parse_working_time("08:30-17:30", "1-5", holidays="2026-10-01..2026-10-07", extra_workdays="2026-10-10")


def at(month: int, day: int, hh: int, mm: int = 0) -> datetime:
    """2026, Asia/Shanghai wall time, as an aware datetime."""
    return datetime(2026, month, day, hh, mm, tzinfo=SHANGHAI)


def due(start: datetime, minutes: int) -> datetime:
    return OFFICE.add(start, timedelta(minutes=minutes)).astimezone(SHANGHAI)


def test_inside_one_working_day() -> None:
    assert due(at(6, 1, 9), 240) == at(6, 1, 13)  # Monday
    assert due(at(6, 5, 13, 30), 240) == at(6, 5, 17, 30)  # Friday, to the minute of closing


def test_friday_evening_is_due_on_monday_morning() -> None:
    assert due(at(6, 5, 17, 0), 240) == at(6, 8, 12, 0)  # 30 min on Friday, 3.5 h on Monday
    assert due(at(6, 5, 22, 0), 240) == at(6, 8, 12, 30)  # after closing: from Monday's opening
    assert due(at(6, 6, 10, 0), 60) == at(6, 8, 9, 30)  # on Saturday


def test_before_opening_counts_from_opening() -> None:
    assert due(at(6, 2, 6, 0), 30) == at(6, 2, 9, 0)


def test_several_working_days() -> None:
    # Two working days of 9 hours: Monday 09:00 → Wednesday 09:00.
    assert due(at(6, 1, 9), 18 * 60) == at(6, 3, 9, 0)


def test_public_holidays_and_a_working_weekend_day() -> None:
    # 国庆 1-7 October are off; Saturday 10 October is worked (调休).
    assert due(at(9, 30, 17, 0), 60) == at(10, 8, 9, 0)
    assert due(at(10, 9, 17, 0), 60) == at(10, 10, 9, 0)
    assert OFFICE.is_working_day(at(10, 10, 0).date()) and not OFFICE.is_working_day(at(10, 11, 0).date())


def test_the_result_is_utc_and_round_the_clock_is_plain_clock_time() -> None:
    assert OFFICE.add(at(6, 1, 9), timedelta(hours=1)).tzinfo is UTC
    start = datetime(2026, 6, 6, 2, 0, tzinfo=UTC)
    assert ALWAYS.add(start, timedelta(hours=4)) == start + timedelta(hours=4)
    assert parse_working_time("") is ALWAYS


@pytest.mark.parametrize(
    ("hours", "days", "holidays", "words"),
    [
        ("8:30", "1-5", "", "HH:MM-HH:MM"),
        ("17:30-08:30", "1-5", "", "closing must come after opening"),
        ("08:30-25:00", "1-5", "", "HH:MM"),
        ("08:30-17:30", "0-4", "", "weekday numbers 1-7"),
        ("08:30-17:30", "5-1", "", "backwards"),
        ("08:30-17:30", "", "", "at least one working day"),
        ("08:30-17:30", "1-5", "2026-13-01", "YYYY-MM-DD"),
        ("08:30-17:30", "1-5", "2026-10-07..2026-10-01", "backwards"),
    ],
)
def test_bad_settings_are_refused_in_both_languages(hours: str, days: str, holidays: str, words: str) -> None:
    with pytest.raises(WorkingTimeError, match=words):
        parse_working_time(hours, days, holidays)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        OFFICE.add(datetime(2026, 6, 1, 9), timedelta(hours=1))
