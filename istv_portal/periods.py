"""Reporting months: the type, the month arithmetic and the one rule for when a file is due.

A hospital reports one calendar month per file. The file for a month is due by the
``SUBMISSION_DUE_DAY`` (default 15) of the following month, and overdue from the day
after. The scorecard's timeliness, the submission tracker, the overdue reminders and the
programme's impact figures all ask :func:`due_date`, so they always agree.

Months are handled either as :class:`Period` (a year and a month) or as the ``date`` of
the month's first day; both kinds convert with :meth:`Period.of` and :attr:`Period.start`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone

# Day 28 exists in every month, so a due day never falls outside its month.
LATEST_DUE_DAY = 28


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A reporting month."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1990 <= self.year <= 2200:
            raise ValueError(f"invalid reporting period {self.year}-{self.month:02d}")

    @classmethod
    def of(cls, day: date) -> Period:
        """The reporting month ``day`` falls in."""
        return cls(day.year, day.month)

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        """Last day of the month."""
        return self.shifted(1).start - timedelta(days=1)

    def shifted(self, months: int) -> Period:
        """The month ``months`` later (earlier when negative)."""
        index = self.year * 12 + self.month - 1 + months
        return Period(index // 12, index % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse ``YYYY-MM``."""
        try:
            y, m = text.strip().split("-")
            return cls(int(y), int(m))
        except ValueError as exc:
            raise ValueError(f"expected YYYY-MM, got {text!r}") from exc


def month_start(day: date) -> date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s (before, when negative)."""
    return Period.of(day).shifted(months).start


def months_between(first: date, last: date) -> Iterator[date]:
    """First days of every month from ``first``'s to ``last``'s, both included."""
    current = month_start(first)
    while current <= last:
        yield current
        current = add_months(current, 1)


def months_ending(last: date, count: int) -> list[date]:
    """First days of the ``count`` months ending with ``last``'s, oldest first."""
    return [add_months(last, -i) for i in range(count - 1, -1, -1)]


def last_complete_month(today: date | None = None) -> date:
    """The first day of the month before today's: the latest month that has ended."""
    return add_months(today or timezone.localdate(), -1)


def due_day() -> int:
    """The day of the following month by which a month's file is due."""
    return min(int(settings.SUBMISSION_DUE_DAY), LATEST_DUE_DAY)


def due_date(period: Period | date) -> date:
    """When the file for ``period`` is due: the due day of the following month."""
    month = period if isinstance(period, Period) else Period.of(period)
    return month.shifted(1).start.replace(day=due_day())


def is_overdue(period: Period | date, today: date) -> bool:
    """Whether the file for ``period`` is overdue on ``today`` (the day after it was due)."""
    return today > due_date(period)
