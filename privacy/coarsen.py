"""Time coarsening: the server keeps the calendar month of receipt and a reporter-chosen
time-of-day band, never a timestamp.

Invariant: `month_of` maps any instant to the 'YYYY-MM' string of its Europe/Amsterdam
calendar month and nothing finer; `text_expired` depends only on that month, so the moment
free text is deleted reveals nothing finer than the month either.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
TEXT_RETENTION_DAYS = 90


def month_of(instant: dt.datetime) -> str:
    """Calendar month ('YYYY-MM') of an aware instant in Dutch local time."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    local = instant.astimezone(AMSTERDAM)
    return f"{local.year:04d}-{local.month:02d}"


def month_of_date(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def parse_month(text: str) -> dt.date:
    """First day of a 'YYYY-MM' month; ValueError for anything else."""
    match = MONTH_PATTERN.match(text)
    if not match:
        raise ValueError("month must be written YYYY-MM")
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def text_expired(month: str, today: dt.date) -> bool:
    """Whether free text of a report received in `month` must be gone by `today`.

    Counted from the first day of the month, so text is deleted at most 90 days after receipt
    (earlier for reports later in the month) and the deletion day leaks only the month.
    """
    return today >= parse_month(month) + dt.timedelta(days=TEXT_RETENTION_DAYS)
