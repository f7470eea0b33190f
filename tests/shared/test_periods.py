"""Reporting periods: at most 10 years, a year earlier, months, collection years."""

from __future__ import annotations

import datetime as dt

import pytest

from shared import periods
from shared.errors import InvalidField


def test_a_period_of_just_under_ten_years_is_allowed_and_ten_years_is_refused_naming_to():
    periods.check_period(dt.date(2016, 4, 1), dt.date(2026, 3, 31))
    with pytest.raises(InvalidField) as refused:
        periods.check_period(dt.date(2016, 4, 1), dt.date(2026, 4, 1))
    assert refused.value.extras["errors"][0]["loc"] == ["query", "to"]


def test_a_period_ending_before_it_starts_is_refused_naming_to():
    with pytest.raises(InvalidField) as refused:
        periods.check_period(dt.date(2022, 4, 2), dt.date(2022, 4, 1))
    assert refused.value.extras["errors"][0]["loc"] == ["query", "to"]


def test_a_year_earlier_moves_29_february_to_28_february():
    assert periods.year_earlier(dt.date(2024, 2, 29), dt.date(2025, 2, 28)) == (
        dt.date(2023, 2, 28),
        dt.date(2024, 2, 28),
    )
    assert periods.add_years(dt.date(2020, 2, 29), 10) == dt.date(2030, 2, 28)


def test_months_are_cut_by_the_periods_ends():
    assert list(periods.months(dt.date(2022, 1, 15), dt.date(2022, 3, 2))) == [
        ("2022-01", dt.date(2022, 1, 15), dt.date(2022, 1, 31)),
        ("2022-02", dt.date(2022, 2, 1), dt.date(2022, 2, 28)),
        ("2022-03", dt.date(2022, 3, 1), dt.date(2022, 3, 2)),
    ]
    assert len(list(periods.months(dt.date(2021, 4, 1), dt.date(2022, 3, 31)))) == 12


def test_a_collection_year_runs_from_1_april_to_31_march():
    assert periods.collection_year(2022) == (dt.date(2021, 4, 1), dt.date(2022, 3, 31))
