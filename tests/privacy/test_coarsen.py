from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy import coarsen

instants = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC))


@given(instants)
def test_month_is_the_only_time_kept(instant: dt.datetime) -> None:
    month = coarsen.month_of(instant)
    assert coarsen.MONTH_PATTERN.match(month)
    local = instant.astimezone(coarsen.AMSTERDAM)
    assert month == f"{local.year:04d}-{local.month:02d}"


def test_month_uses_dutch_local_time() -> None:
    assert coarsen.month_of(dt.datetime(2026, 10, 31, 23, 30, tzinfo=dt.UTC)) == "2026-11"
    with pytest.raises(ValueError):
        coarsen.month_of(dt.datetime(2026, 10, 31))  # naive


@given(instants)
def test_text_never_outlives_90_days_after_receipt(instant: dt.datetime) -> None:
    month = coarsen.month_of(instant)
    day = instant.astimezone(coarsen.AMSTERDAM).date()
    assert coarsen.text_expired(month, day + dt.timedelta(days=90))
    assert not coarsen.text_expired(month, coarsen.parse_month(month))


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "26-01", "2026-01-01", ""])
def test_parse_month_refuses_other_shapes(bad: str) -> None:
    with pytest.raises(ValueError):
        coarsen.parse_month(bad)
