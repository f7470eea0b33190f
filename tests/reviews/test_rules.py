"""The statutory review rules (services/reviews/rules.py). Every expected date is worked out by hand."""

from datetime import date

import pytest

from services.reviews import rules
from shared.calendar import WorkingCalendar


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


# --- Review kind and short breaks -----------------------------------------------------------------


@pytest.mark.parametrize(("sequence", "kind"), [(1, "first"), (2, "second"), (3, "subsequent"), (10, "subsequent")])
def test_review_kind_follows_the_sequence_within_the_care_period(sequence, kind):
    assert rules.review_kind(sequence) == kind


def test_review_sequence_starts_at_one():
    with pytest.raises(ValueError):
        rules.review_kind(0)


@pytest.mark.parametrize(("legal_status", "short_break"), [("V3", True), ("V4", True), ("V2", False), ("C2", False)])
def test_only_v3_and_v4_are_short_breaks(legal_status, short_break):
    assert rules.is_short_break(legal_status) is short_break


# --- First review: 20 working days ----------------------------------------------------------------


def test_first_review_due_20_working_days_after_entering_care(calendar):
    # Mon 20 Dec 2021; 25-28 Dec (27 and 28 substitute days) and 3 Jan 2022 are not working days.
    assert rules.first_review_due(calendar, date(2021, 12, 20), short_break=False) == date(2022, 1, 20)


def test_first_review_skips_good_friday_and_easter_monday_2022(calendar):
    # Mon 28 Mar 2022: 20 weekdays would be Mon 25 Apr; skipping 15 and 18 Apr gives Wed 27 Apr.
    assert rules.first_review_due(calendar, date(2022, 3, 28), short_break=False) == date(2022, 4, 27)


def test_first_review_skips_the_2022_jubilee_bank_holidays(calendar):
    # Mon 23 May 2022: 20 weekdays would be Mon 20 Jun; skipping Thu 2 and Fri 3 Jun gives Wed 22 Jun.
    assert rules.first_review_due(calendar, date(2022, 5, 23), short_break=False) == date(2022, 6, 22)


# --- Second and later reviews: calendar months from the date held ---------------------------------


def test_second_review_due_3_months_after_the_first_clamped_to_february():
    assert rules.next_review_due(date(2022, 11, 30), held_sequence=1, short_break=False) == date(2023, 2, 28)


def test_second_review_due_on_29_february_in_a_leap_year():
    assert rules.next_review_due(date(2023, 11, 30), held_sequence=1, short_break=False) == date(2024, 2, 29)


def test_later_review_due_6_months_after_the_previous_one_clamped_to_the_month_end():
    assert rules.next_review_due(date(2022, 8, 31), held_sequence=2, short_break=False) == date(2023, 2, 28)
    assert rules.next_review_due(date(2023, 8, 31), held_sequence=3, short_break=False) == date(2024, 2, 29)


def test_late_first_review_pushes_the_second_review_from_the_date_held(calendar):
    # Entered care 20 Dec 2021, first review due 20 Jan 2022 but held Thu 3 Feb 2022.
    statutory_due_on = rules.review_due(
        calendar, sequence=1, started_on=date(2021, 12, 20), previous_held_on=None, short_break=False
    )
    assert statutory_due_on == date(2022, 1, 20)
    assert rules.needs_late_reason(date(2022, 2, 3), statutory_due_on)
    second = rules.review_due(
        calendar,
        sequence=2,
        started_on=date(2021, 12, 20),
        previous_held_on=date(2022, 2, 3),
        short_break=False,
    )
    assert second == date(2022, 5, 3)  # 3 months from 3 Feb, not from the 20 Jan due date


def test_third_review_due_6_months_after_the_second_was_held(calendar):
    third = rules.review_due(
        calendar,
        sequence=3,
        started_on=date(2021, 12, 20),
        previous_held_on=date(2022, 4, 28),
        short_break=False,
    )
    assert third == date(2022, 10, 28)


def test_a_new_care_period_restarts_at_the_first_review(calendar):
    # Back in care on Mon 23 May 2022 after earlier periods: 20 working days again (Jubilee skipped).
    first = rules.review_due(
        calendar, sequence=1, started_on=date(2022, 5, 23), previous_held_on=None, short_break=False
    )
    assert first == date(2022, 6, 22)
    assert rules.review_kind(1) == "first"


def test_review_due_rejects_a_previous_review_for_the_first_and_its_absence_for_later_ones(calendar):
    with pytest.raises(ValueError):
        rules.review_due(
            calendar,
            sequence=1,
            started_on=date(2022, 5, 23),
            previous_held_on=date(2022, 1, 5),
            short_break=False,
        )
    with pytest.raises(ValueError):
        rules.review_due(calendar, sequence=2, started_on=date(2022, 5, 23), previous_held_on=None, short_break=False)
    with pytest.raises(ValueError):
        rules.next_review_due(date(2022, 5, 23), held_sequence=0, short_break=False)


# --- Short breaks (reg 48) ------------------------------------------------------------------------


def test_short_break_first_review_due_3_months_after_the_start(calendar):
    assert rules.is_short_break("V3")
    assert rules.first_review_due(calendar, date(2022, 3, 15), short_break=True) == date(2022, 6, 15)
    assert rules.first_review_due(calendar, date(2022, 11, 30), short_break=True) == date(2023, 2, 28)


def test_short_break_later_reviews_are_6_months_apart_from_the_first():
    # Not 3 months after the first as for other children (that would be 10 Sep 2022).
    assert rules.next_review_due(date(2022, 6, 10), held_sequence=1, short_break=True) == date(2022, 12, 10)
    assert rules.next_review_due(date(2022, 12, 10), held_sequence=2, short_break=True) == date(2023, 6, 10)


# --- Early reviews and the placement-change policy ------------------------------------------------


def test_early_review_moves_due_on_but_is_judged_in_time_against_the_statutory_date():
    assert rules.valid_early_reason("iro_request")
    statutory_due_on = date(2023, 2, 28)
    due_on = rules.bring_forward(statutory_due_on, date(2023, 2, 10))
    assert due_on == date(2023, 2, 10)
    review = facts(due_on=due_on, statutory_due_on=statutory_due_on)
    assert rules.review_status(review, date(2023, 2, 15)) == "overdue"
    # Held on 20 Feb: after the brought-forward date, before the statutory one.
    assert rules.is_in_time(date(2023, 2, 20), statutory_due_on)
    assert not rules.needs_late_reason(date(2023, 2, 20), statutory_due_on)


def test_early_review_never_moves_the_due_date_later():
    assert rules.bring_forward(date(2023, 2, 10), date(2023, 3, 1)) == date(2023, 2, 10)


def test_unplanned_placement_change_brings_the_review_to_20_working_days_after(calendar):
    # Mon 9 Jan 2023 + 20 working days (no bank holidays) = Mon 6 Feb 2023.
    assert rules.placement_change_due(calendar, date(2023, 1, 9), date(2023, 2, 28)) == date(2023, 2, 6)


def test_placement_change_does_not_move_a_review_already_due_sooner_or_the_same_day(calendar):
    assert rules.placement_change_due(calendar, date(2023, 1, 9), date(2023, 2, 1)) is None
    assert rules.placement_change_due(calendar, date(2023, 1, 9), date(2023, 2, 6)) is None


def test_placement_change_skips_the_may_2023_bank_holidays(calendar):
    # Mon 17 Apr 2023: 20 weekdays would be Mon 15 May; skipping 1 May and the Coronation (8 May): Wed 17 May.
    assert rules.placement_change_due(calendar, date(2023, 4, 17), date(2023, 6, 30)) == date(2023, 5, 17)


# --- Timeliness, status, series of meetings -------------------------------------------------------


def test_review_held_on_the_statutory_due_date_is_in_time_and_the_day_after_is_late():
    assert rules.is_in_time(date(2022, 1, 20), date(2022, 1, 20))
    assert not rules.needs_late_reason(date(2022, 1, 20), date(2022, 1, 20))
    assert not rules.is_in_time(date(2022, 1, 21), date(2022, 1, 20))
    assert rules.needs_late_reason(date(2022, 1, 21), date(2022, 1, 20))


def facts(**given) -> rules.ReviewFacts:
    """A review due (and statutory due) on Thu 20 Jan 2022 of a child turning 18 on 1 Jan 2030."""
    values = {
        "stored": "scheduled",
        "due_on": date(2022, 1, 20),
        "statutory_due_on": date(2022, 1, 20),
        "held_on": None,
        "closed_on": None,
        "eighteenth_birthday": date(2030, 1, 1),
    }
    return rules.ReviewFacts(**{**values, **given})


@pytest.mark.parametrize(
    ("given", "today", "shown"),
    [
        ({}, date(2022, 1, 19), "scheduled"),
        ({}, date(2022, 1, 20), "scheduled"),
        ({}, date(2022, 1, 21), "overdue"),
        ({"stored": "held", "held_on": date(2022, 1, 18)}, date(2022, 2, 1), "held"),
        ({"stored": "missed", "closed_on": date(2022, 1, 25)}, date(2022, 2, 1), "missed"),
        ({"stored": "cancelled", "closed_on": date(2022, 1, 10)}, date(2022, 2, 1), "cancelled"),
    ],
)
def test_scheduled_review_is_overdue_only_after_its_due_date(given, today, shown):
    assert rules.review_status(facts(**given), today) == shown


@pytest.mark.parametrize(
    ("today", "shown"),
    [
        (date(2022, 1, 17), "scheduled"),  # before the child turns 18 and before the due date
        (date(2022, 1, 18), "cancelled"),  # 18 on Tue 18 Jan: the review was not yet due, so never counts
        (date(2022, 3, 1), "cancelled"),
    ],
)
def test_a_review_still_open_on_the_18th_birthday_not_yet_due_is_cancelled_from_that_day(today, shown):
    assert rules.review_status(facts(eighteenth_birthday=date(2022, 1, 18)), today) == shown


@pytest.mark.parametrize(
    ("today", "shown"),
    [
        (date(2022, 1, 21), "overdue"),  # past its due date, the child still 17
        (date(2022, 2, 1), "missed"),  # 18 on Tue 1 Feb 2022, the period still open: closed by s105, missed
        (date(2022, 6, 1), "missed"),
    ],
)
def test_a_care_leavers_review_due_before_the_18th_birthday_reads_missed_not_overdue(today, shown):
    assert rules.review_status(facts(eighteenth_birthday=date(2022, 2, 1)), today) == shown


def test_status_as_of_a_past_day_is_what_the_review_was_then():
    # Held late on Mon 31 Jan 2022: overdue on 25 Jan, held from 31 Jan.
    held = facts(stored="held", held_on=date(2022, 1, 31))
    assert rules.review_status(held, date(2022, 1, 25)) == "overdue"
    assert rules.review_status(held, date(2022, 1, 31)) == "held"
    # The child left care on Tue 1 Feb 2022 with the review unheld: missed from then, overdue before.
    missed = facts(stored="missed", closed_on=date(2022, 2, 1))
    assert rules.review_status(missed, date(2022, 1, 31)) == "overdue"
    assert rules.review_status(missed, date(2022, 2, 1)) == "missed"


@pytest.mark.parametrize(
    ("status", "today", "past_due"),
    [
        ("open", date(2023, 5, 31), False),  # due Wed 31 May 2023: not past due on the day
        ("open", date(2023, 6, 1), True),
        ("done", date(2023, 6, 1), False),
        ("not_done", date(2023, 6, 1), False),
        ("superseded", date(2023, 6, 1), False),
    ],
)
def test_a_decision_is_past_due_only_while_open_after_its_due_date(status, today, past_due):
    assert rules.decision_past_due(status, date(2023, 5, 31), today) is past_due


def test_review_held_over_several_meetings_is_dated_by_the_first_meeting():
    held_on = rules.review_date_of_meetings([date(2023, 3, 10), date(2023, 3, 2), date(2023, 3, 20)])
    assert held_on == date(2023, 3, 2)
    assert rules.is_in_time(held_on, date(2023, 3, 3))
    assert rules.next_review_due(held_on, held_sequence=2, short_break=False) == date(2023, 9, 2)


def test_a_review_needs_at_least_one_meeting():
    with pytest.raises(ValueError):
        rules.review_date_of_meetings([])


# --- Leaving care ---------------------------------------------------------------------------------


def test_unheld_review_already_past_its_statutory_date_is_missed_when_the_child_leaves_care():
    assert rules.outcome_when_leaving_care(date(2022, 1, 20), date(2022, 1, 21)) == "missed"


def test_unheld_review_due_on_the_leaving_day_or_later_is_cancelled():
    assert rules.outcome_when_leaving_care(date(2022, 1, 20), date(2022, 1, 20)) == "cancelled"
    assert rules.outcome_when_leaving_care(date(2022, 1, 20), date(2022, 1, 19)) == "cancelled"


# --- The 18th birthday (Children Act 1989 s105) ---------------------------------------------------


def test_reviews_may_fall_the_day_before_the_18th_birthday_but_not_on_it():
    dob = date(2005, 3, 15)
    assert rules.statutory_cutoff(dob) == date(2023, 3, 15)
    assert rules.within_care_age(date(2023, 3, 14), dob)
    assert not rules.within_care_age(date(2023, 3, 15), dob)


def test_child_born_on_29_february_turns_18_on_1_march_in_a_common_year():
    dob = date(2004, 2, 29)
    assert rules.statutory_cutoff(dob) == date(2022, 3, 1)
    assert rules.within_care_age(date(2022, 2, 28), dob)
    assert not rules.within_care_age(date(2022, 3, 1), dob)


def test_no_review_is_scheduled_when_due_on_or_after_the_18th_birthday():
    dob = date(2005, 6, 1)  # 18 on 1 Jun 2023
    due_on = rules.next_review_due(date(2022, 12, 1), held_sequence=3, short_break=False)
    assert due_on == date(2023, 6, 1)
    assert not rules.within_care_age(due_on, dob)


def test_care_period_still_open_ends_on_the_18th_birthday():
    dob = date(2005, 3, 15)
    assert rules.effective_end(None, dob) == date(2023, 3, 15)
    assert rules.effective_end(None, dob, today=date(2023, 3, 14)) is None
    assert rules.effective_end(None, dob, today=date(2023, 3, 15)) == date(2023, 3, 15)


def test_care_period_ended_after_the_18th_birthday_is_treated_as_ending_on_it():
    dob = date(2005, 3, 15)
    assert rules.effective_end(date(2023, 6, 1), dob) == date(2023, 3, 15)
    assert rules.effective_end(date(2023, 3, 15), dob) == date(2023, 3, 15)
    assert rules.effective_end(date(2022, 6, 1), dob) == date(2022, 6, 1)


def test_turning_18_misses_a_review_already_past_due_and_cancels_the_next():
    ended_on = rules.effective_end(None, date(2005, 3, 15))
    assert ended_on == date(2023, 3, 15)
    assert rules.outcome_when_leaving_care(date(2023, 3, 14), ended_on) == "missed"
    assert rules.outcome_when_leaving_care(date(2023, 3, 15), ended_on) == "cancelled"


# --- Record keeping -------------------------------------------------------------------------------


def test_social_worker_report_due_5_working_days_before_the_review_across_a_bank_holiday(calendar):
    # Review Tue 30 Aug 2022; Mon 29 Aug is the summer bank holiday: 26, 25, 24, 23, 22 Aug.
    assert rules.sw_report_due(calendar, date(2022, 8, 30)) == date(2022, 8, 22)


def test_decisions_due_5_working_days_after_the_review_across_a_bank_holiday(calendar):
    # Held Thu 25 Aug 2022: 26 Aug, (29 Aug bank holiday), 30, 31 Aug, 1, 2 Sep.
    assert rules.decisions_due(calendar, date(2022, 8, 25)) == date(2022, 9, 2)


def test_record_and_letter_due_20_working_days_after_across_two_bank_holidays(calendar):
    # Held Thu 25 Aug 2022, skipping 29 Aug and the State Funeral (Mon 19 Sep): Mon 26 Sep.
    assert rules.record_due(calendar, date(2022, 8, 25)) == date(2022, 9, 26)
    assert rules.letter_due(calendar, date(2022, 8, 25)) == date(2022, 9, 26)


def test_record_deadlines_of_one_review_together(calendar):
    deadlines = rules.record_deadlines(calendar, date(2022, 8, 30))
    assert deadlines == rules.RecordDeadlines(
        sw_report_due=date(2022, 8, 22),
        decisions_due=date(2022, 9, 6),
        record_due=date(2022, 9, 28),
        letter_due=date(2022, 9, 28),
    )


def test_record_keeping_defaults_and_a_local_letter_setting(calendar):
    assert rules.RecordKeeping() == rules.RecordKeeping(
        sw_report_days_before=5, decisions_days=5, record_days=20, letter_days=20
    )
    # 10 working days from Thu 25 Aug 2022, skipping 29 Aug: Fri 9 Sep.
    settings = rules.RecordKeeping(letter_days=10)
    assert rules.letter_due(calendar, date(2022, 8, 25), settings) == date(2022, 9, 9)


def test_record_keeping_is_on_time_on_or_before_its_deadline_and_unknown_until_done():
    assert rules.on_time(date(2022, 9, 1), date(2022, 9, 2)) is True
    assert rules.on_time(date(2022, 9, 2), date(2022, 9, 2)) is True
    assert rules.on_time(date(2022, 9, 5), date(2022, 9, 2)) is False
    assert rules.on_time(None, date(2022, 9, 2)) is None


# --- Caseloads ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caseload", "fte", "per_fte", "band", "within"),
    [
        (35, 0.5, 70.0, "within", True),
        (36, 0.5, 72.0, "above", False),
        (20, 1.0, 20.0, "below", True),
        (50, 1.0, 50.0, "within", True),
        (49, 1.0, 49.0, "below", True),
        (21, 0.3, 70.0, "within", True),  # 21 / 0.3 is 70.00000000000001 before rounding
        (7, 0.3, 23.33, "below", True),
    ],
)
def test_caseload_per_fte_band_and_guidance_for_part_time_iros(caseload, fte, per_fte, band, within):
    assert rules.caseload_per_fte(caseload, fte) == per_fte
    assert rules.caseload_band(per_fte) == band
    assert rules.within_guidance(per_fte) is within


def test_caseload_band_and_guidance_follow_the_configured_thresholds():
    assert rules.caseload_band(70.01) == "above"
    assert rules.caseload_band(55.0, lower=60, upper=80) == "below"
    assert rules.caseload_band(80.0, lower=60, upper=80) == "within"
    assert rules.within_guidance(75.0, upper=80)


@pytest.mark.parametrize(("caseload", "fte"), [(10, 0.0), (10, 1.5), (10, -0.5), (-1, 1.0)])
def test_caseload_rejects_an_fte_outside_0_to_1_and_a_negative_caseload(caseload, fte):
    with pytest.raises(ValueError):
        rules.caseload_per_fte(caseload, fte)


# --- Code lists -----------------------------------------------------------------------------------


def test_legal_status_codes_come_from_the_reference_list():
    assert rules.valid_legal_status("C2")
    assert rules.valid_legal_status("V3")
    assert not rules.valid_legal_status("c2")
    assert not rules.valid_legal_status("X9")
    assert not rules.valid_legal_status("")


def test_placement_types_come_from_the_reference_list_and_its_years():
    assert rules.valid_placement_type("U6")
    assert not rules.valid_placement_type("Q1")
    assert not rules.valid_placement_type("Q1", 2023)
    assert not rules.valid_placement_type("K3", 2023)
    assert rules.valid_placement_type("K3", 2024)
    assert rules.valid_placement_type("H5", 2024)
    assert not rules.valid_placement_type("H5", 2025)


def test_early_and_late_reasons_are_separate_lists():
    assert rules.valid_early_reason("placement_change")
    assert not rules.valid_early_reason("late_notification")
    assert rules.valid_late_reason("child_missing")
    assert not rules.valid_late_reason("iro_request")
    assert rules.reason_needs_detail("other")
    assert not rules.reason_needs_detail("child_missing")


def test_reason_ceased_codes_come_from_the_reference_list():
    assert rules.valid_reason_ceased("E4A")
    assert rules.valid_reason_ceased("X1")
    assert not rules.valid_reason_ceased("E4")
