import datetime as dt

import pytest

from shared.calendar import WorkingCalendar, add_months, age_on, birthday

D = dt.date


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


def test_entering_care_mon_20_dec_2021_plus_20_working_days_is_thu_20_jan_2022(calendar):
    # Christmas 2021: 25-28 Dec (substitute days 27 and 28) and New Year's Day observed on 3 Jan 2022.
    assert calendar.add_working_days(D(2021, 12, 20), 20) == D(2022, 1, 20)
    assert D(2022, 1, 20).weekday() == 3  # a Thursday


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (D(2022, 6, 2), "Spring bank holiday moved for the Jubilee"),
        (D(2022, 6, 3), "Platinum Jubilee"),
        (D(2022, 9, 19), "State Funeral of Queen Elizabeth II"),
        (D(2021, 12, 27), "Christmas Day substitute"),
        (D(2021, 12, 28), "Boxing Day substitute"),
        (D(2023, 5, 8), "Coronation of Charles III"),
    ],
)
def test_one_off_and_substitute_bank_holidays_are_not_working_days(calendar, day, name):
    assert day.weekday() < 5, name
    assert not calendar.is_working_day(day), name


def test_weekends_are_not_working_days_and_ordinary_weekdays_are(calendar):
    assert not calendar.is_working_day(D(2022, 6, 4))  # Saturday
    assert not calendar.is_working_day(D(2022, 6, 5))  # Sunday
    assert calendar.is_working_day(D(2022, 6, 6))


def test_twenty_working_days_across_the_2022_jubilee_weekend(calendar):
    # Fri 27 May 2022 + 20 working days, skipping Thu 2 and Fri 3 June: Tue 28 June.
    assert calendar.add_working_days(D(2022, 5, 27), 20) == D(2022, 6, 28)


def test_state_funeral_day_pushes_a_deadline_by_one_day(calendar):
    # Mon 12 Sep 2022 + 10 working days: without the funeral Mon 26 Sep, with it Tue 27 Sep.
    assert calendar.add_working_days(D(2022, 9, 12), 10) == D(2022, 9, 27)


def test_local_closure_days_are_not_working_days():
    closed = WorkingCalendar(closure_days=[D(2022, 1, 4)])
    assert not closed.is_working_day(D(2022, 1, 4))
    assert closed.add_working_days(D(2021, 12, 20), 20) == D(2022, 1, 21)


def test_counting_back_working_days(calendar):
    # Five working days before Thu 20 Jan 2022 is Thu 13 Jan 2022.
    assert calendar.add_working_days(D(2022, 1, 20), -5) == D(2022, 1, 13)


def test_working_days_between_counts_the_days_after_the_start(calendar):
    assert calendar.working_days_between(D(2021, 12, 20), D(2022, 1, 20)) == 20
    assert calendar.working_days_between(D(2022, 1, 20), D(2022, 1, 20)) == 0


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2022, 8, 31), 6, D(2023, 2, 28)),
        (D(2023, 8, 31), 6, D(2024, 2, 29)),  # leap year
        (D(2022, 11, 30), 3, D(2023, 2, 28)),
        (D(2023, 11, 30), 3, D(2024, 2, 29)),
        (D(2022, 1, 15), 3, D(2022, 4, 15)),
        (D(2022, 10, 31), 3, D(2023, 1, 31)),
        (D(2024, 2, 29), 12, D(2025, 2, 28)),
    ],
)
def test_add_calendar_months_clamps_to_the_end_of_the_month(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("dob", "day", "age"),
    [
        (D(2017, 6, 10), D(2021, 6, 9), 3),
        (D(2017, 6, 10), D(2021, 6, 10), 4),
        (D(2017, 6, 10), D(2021, 6, 11), 4),
        (D(2016, 2, 29), D(2020, 2, 28), 3),
        (D(2016, 2, 29), D(2020, 2, 29), 4),  # a leap year: the birthday itself
        (D(2016, 2, 29), D(2021, 2, 28), 4),
        (D(2016, 2, 29), D(2021, 3, 1), 5),  # a common year: 1 March
    ],
)
def test_age_on_a_day_counts_the_birthday_itself(dob, day, age):
    assert age_on(dob, day) == age


def test_eighteenth_birthday_of_a_child_born_on_29_february():
    assert birthday(D(2004, 2, 29), 18) == D(2022, 3, 1)
    assert birthday(D(2006, 2, 28), 18) == D(2024, 2, 28)
