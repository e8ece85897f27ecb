from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy.periods import Period, parse_period

months = st.builds(lambda y, m: Period(y, "month", m), st.integers(2000, 2999), st.integers(1, 12))
quarters = st.builds(lambda y, q: Period(y, "quarter", q), st.integers(2000, 2999), st.integers(1, 4))
years = st.builds(lambda y: Period(y, "year", 0), st.integers(2000, 2999))
periods = st.one_of(months, quarters, years)


@given(periods)
def test_calendar_periods_round_trip(period: Period) -> None:
    assert parse_period(str(period)) == period
    inner = period.months()
    assert len(inner) == {"month": 1, "quarter": 3, "year": 12}[period.kind]
    assert inner[0].first_day == period.first_day
    assert all(b.first_day > a.first_day for a, b in itertools.pairwise(inner))
    assert period.closes_on > inner[-1].first_day
    assert period.closes_on - dt.timedelta(days=1) < period.closes_on
    assert period.previous().closes_on == period.first_day
    assert period.next().first_day == period.closes_on
    assert period.next().previous() == period


@given(st.text(max_size=12))
def test_only_calendar_periods_are_accepted(text: str) -> None:
    try:
        period = parse_period(text)
    except ValueError:
        return
    assert str(period) == text  # anything accepted is exactly its canonical form


@pytest.mark.parametrize(
    "text",
    [
        "2026-W40",  # ISO weeks are not a staff period here
        "2026-10-01",
        "2026-10/2026-11",
        "2026-13",
        "2026-00",
        "2026-Q5",
        "2026-q3",
        " 2026-10",
        "2026-10\n",
        "1999-10",
        "3000",
        "26-10",
        "2026-1",
        "\u0662\u0660\u0662\u0666",  # Arabic-Indic digits
        "",
    ],
)
def test_other_syntax_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="calendar month"):
        parse_period(text)


def test_closing_and_quarters() -> None:
    october = parse_period("2026-10")
    assert october.closes_on == dt.date(2026, 11, 1)
    assert not october.is_closed(dt.date(2026, 10, 31))
    assert october.is_closed(dt.date(2026, 11, 1))
    assert not october.is_closed(dt.date(2026, 11, 3), delay_days=3)
    assert october.is_closed(dt.date(2026, 11, 4), delay_days=3)
    assert str(october.quarter()) == "2026-Q4"
    assert str(parse_period("2026-01").previous()) == "2025-12"
    assert str(parse_period("2026-Q1").previous()) == "2025-Q4"
    assert parse_period("2026").closes_on == dt.date(2027, 1, 1)
    with pytest.raises(ValueError):
        parse_period("2026-Q3").quarter()
