"""Calendar periods, the only time windows staff and the public can ask about (DESIGN.md
section 3: "Arbitrary date ranges do not exist").

A period is a calendar month ('2026-10'), quarter ('2026-Q3') or year ('2026'). Releases are
built per month (staff) and per quarter (public); quarter and year views are sums of monthly
releases. Every report falls in exactly one month and one quarter, so the epsilon a report
spends does not depend on which views are asked for.

Invariants (tests/privacy/test_periods.py):
- `parse_period` accepts exactly the three calendar forms, with years 2000-2999, and nothing
  else (no ISO weeks, no ranges, no surrounding spaces, no other digits such as Arabic-Indic);
- `months` of a period are its calendar months in order, 1, 3 or 12 of them;
- `closes_on` is the first day after the period; a period is closed on that day or later.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

PERIOD_PATTERN = re.compile(r"^(2[0-9]{3})(?:-(0[1-9]|1[0-2])|-Q([1-4]))?$", re.ASCII)

Kind = Literal["month", "quarter", "year"]


@dataclass(frozen=True, slots=True, order=True)
class Period:
    year: int
    kind: Kind
    index: int  # month 1-12, quarter 1-4, or 0 for a year

    def __str__(self) -> str:
        if self.kind == "month":
            return f"{self.year:04d}-{self.index:02d}"
        if self.kind == "quarter":
            return f"{self.year:04d}-Q{self.index}"
        return f"{self.year:04d}"

    @property
    def first_day(self) -> dt.date:
        if self.kind == "month":
            return dt.date(self.year, self.index, 1)
        if self.kind == "quarter":
            return dt.date(self.year, 3 * self.index - 2, 1)
        return dt.date(self.year, 1, 1)

    @property
    def closes_on(self) -> dt.date:
        """The first day after the period."""
        last = self.months()[-1]
        return dt.date(last.year + 1, 1, 1) if last.index == 12 else dt.date(last.year, last.index + 1, 1)

    def months(self) -> tuple[Period, ...]:
        if self.kind == "month":
            return (self,)
        if self.kind == "quarter":
            return tuple(Period(self.year, "month", m) for m in range(3 * self.index - 2, 3 * self.index + 1))
        return tuple(Period(self.year, "month", m) for m in range(1, 13))

    def quarter(self) -> Period:
        """The quarter a month lies in."""
        if self.kind != "month":
            raise ValueError("only a month lies in one quarter")
        return Period(self.year, "quarter", (self.index - 1) // 3 + 1)

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        if self.kind == "year":
            return Period(self.year - 1, "year", 0)
        count = 12 if self.kind == "month" else 4
        if self.index == 1:
            return Period(self.year - 1, self.kind, count)
        return Period(self.year, self.kind, self.index - 1)

    def next(self) -> Period:
        """The period of the same kind just after this one."""
        if self.kind == "year":
            return Period(self.year + 1, "year", 0)
        count = 12 if self.kind == "month" else 4
        if self.index == count:
            return Period(self.year + 1, self.kind, 1)
        return Period(self.year, self.kind, self.index + 1)

    def is_closed(self, today: dt.date, delay_days: int = 0) -> bool:
        """Whether the period has ended at least `delay_days` before `today`."""
        return today >= self.closes_on + dt.timedelta(days=delay_days)


def parse_period(text: str) -> Period:
    """A calendar month, quarter or year; ValueError with a message for anything else."""
    match = PERIOD_PATTERN.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError("period must be a calendar month (2026-10), quarter (2026-Q3) or year (2026)")
    year = int(match.group(1))
    if match.group(2):
        return Period(year, "month", int(match.group(2)))
    if match.group(3):
        return Period(year, "quarter", int(match.group(3)))
    return Period(year, "year", 0)


def month_of_date(day: dt.date) -> Period:
    return Period(day.year, "month", day.month)
