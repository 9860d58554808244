"""Office hours for the tickets' service levels: "answer within 4 hours" counts the hours the
office is open, so a complaint that comes in on Friday evening is due on Monday morning, not
in the middle of the night, and no ticket is passed up to the city society over a weekend.

A `WorkingTime` is the working days of the week, the hours of a working day in one time
zone, the public holidays (days off on a weekday: 国庆, 春节) and the working days moved onto
a weekend (调休). Round the clock (`ALWAYS`) is the default and keeps plain clock time.

Written by hand: the business-hours libraries on PyPI (businesstime, workalendar) either
know no Chinese 调休 days or ship a holiday table of their own that an office cannot edit;
the arithmetic here is one loop over days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_DAY = timedelta(days=1)
_SEARCH_DAYS = 3660  # a due time further than ten years away is a configuration error


class WorkingTimeError(ValueError):
    """A message for people (Chinese, then English)."""


@dataclass(frozen=True, slots=True)
class WorkingTime:
    start: time | None = None  # None: round the clock, every day
    end: time | None = None
    days: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO weekdays, Monday 1
    holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    zone: ZoneInfo = field(default=SHANGHAI)

    @property
    def always(self) -> bool:
        return self.start is None

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        return day.isoweekday() in self.days and day not in self.holidays

    def add(self, at: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of working time after `at` (aware; returned in UTC)."""
        if at.tzinfo is None:
            raise ValueError("an aware datetime is needed")
        if self.always or self.start is None or self.end is None:
            return at + duration
        left = duration
        local = at.astimezone(self.zone)
        day = local.date()
        for _ in range(_SEARCH_DAYS):
            if self.is_working_day(day):
                opens = datetime.combine(day, self.start, tzinfo=self.zone)
                closes = datetime.combine(day, self.end, tzinfo=self.zone)
                cursor = max(local, opens)
                if cursor < closes:
                    if left <= closes - cursor:
                        return (cursor + left).astimezone(UTC)
                    left -= closes - cursor
            day += _DAY
            local = datetime.combine(day, time(0), tzinfo=self.zone)
        raise WorkingTimeError(f"十年内没有足够的工作时间 no {duration} of working time within ten years")


ALWAYS = WorkingTime()


def _clock(text: str, what: str) -> time:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if match is None or int(match.group(1)) > 24 or int(match.group(2)) > 59:
        raise WorkingTimeError(f"{what}时间格式应为 HH:MM {what} time must be HH:MM: {text!r}")
    hours, minutes = int(match.group(1)), int(match.group(2))
    return time(23, 59, 59, 999999) if (hours, minutes) == (24, 0) else time(hours, minutes)


def _days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = re.fullmatch(r"([1-7])(?:-([1-7]))?", part)
        if match is None:
            raise WorkingTimeError(
                f"工作日应为 1-7 的数字，如 1-5 working days are weekday numbers 1-7, e.g. 1-5: {part!r}"
            )
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if last < first:
            raise WorkingTimeError(f"工作日范围颠倒 working days run backwards: {part!r}")
        days.update(range(first, last + 1))
    if not days:
        raise WorkingTimeError("至少要有一个工作日 at least one working day is needed")
    return frozenset(days)


def _dates(text: str, what: str) -> frozenset[date]:
    found: set[date] = set()
    for part in filter(None, (p.strip() for p in re.split(r"[,\s]+", text))):
        first, _, last = part.partition("..")
        try:
            begin, stop = date.fromisoformat(first), date.fromisoformat(last or first)
        except ValueError:
            raise WorkingTimeError(
                f"{what}应为 YYYY-MM-DD 或 YYYY-MM-DD..YYYY-MM-DD {what} must be YYYY-MM-DD or a range "
                f"YYYY-MM-DD..YYYY-MM-DD: {part!r}"
            ) from None
        if stop < begin or (stop - begin).days > 366:
            raise WorkingTimeError(f"{what}范围不对 {what} range is backwards or longer than a year: {part!r}")
        found.update(begin + timedelta(days=n) for n in range((stop - begin).days + 1))
    return frozenset(found)


def parse_working_time(hours: str, days: str = "1-5", holidays: str = "", extra_workdays: str = "",
                       zone: str = "Asia/Shanghai") -> WorkingTime:  # fmt: skip
    """From settings: hours "08:30-17:30" (empty: round the clock), days "1-5", holidays and
    extra working days as dates or ranges ("2026-10-01..2026-10-07, 2026-10-10")."""
    if not hours.strip():
        return ALWAYS
    opens, sep, closes = hours.partition("-")
    if not sep:
        raise WorkingTimeError(f"工作时间应为 HH:MM-HH:MM working hours must be HH:MM-HH:MM: {hours!r}")
    start, end = _clock(opens, "上班 opening"), _clock(closes, "下班 closing")
    if end <= start:
        raise WorkingTimeError(f"下班时间要晚于上班时间 closing must come after opening: {hours!r}")
    return WorkingTime(
        start=start, end=end, days=_days(days), holidays=_dates(holidays, "节假日 holidays"),
        extra_workdays=_dates(extra_workdays, "调休上班日 extra working days"), zone=ZoneInfo(zone),
    )  # fmt: skip


__all__ = ["ALWAYS", "WorkingTime", "WorkingTimeError", "parse_working_time"]
