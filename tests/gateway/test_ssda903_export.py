"""The DfE reviews table: which held reviews go in, the DfE's rules held row by row, the exact bytes."""

from __future__ import annotations

import datetime as dt

from services.gateway import ssda903_export as export


def held(review_id: str, child: str, born: str, on: str, *, short_breaks: bool = False, problems=()) -> dict:
    return {
        "review_id": review_id, "child_id": f"c-{child}", "la_reference": child, "date_of_birth": born,
        "held_on": on, "sequence": 1, "short_breaks_only": short_breaks, "problems": list(problems),
    }  # fmt: skip


def coded(review_id: str, born: str, code: str | None, problems=()) -> dict:
    return {"review_id": review_id, "date_of_birth": born, "code": code, "problems": list(problems)}


def test_the_table_is_the_dfes_columns_dates_and_crlf_by_child_then_review_date():
    reviews = [
        held("r3", "B200", "2015-07-01", "2021-10-04"),
        held("r1", "A100", "2019-02-28", "2022-03-31"),
        held("r2", "A100", "2019-02-28", "2021-04-01"),
    ]
    participation = [
        coded("r1", "2019-02-28", "PN0"),
        coded("r2", "2019-02-28", "PN0"),
        coded("r3", "2015-07-01", "PN6"),
    ]
    made = export.build(reviews, participation)
    assert made.problems == [] and made.short_breaks_only == 0
    assert export.to_csv(made.rows) == (
        b"CHILD,DOB,REVIEW,REVIEW_CODE\r\n"
        b"A100,28/02/2019,01/04/2021,PN0\r\n"
        b"A100,28/02/2019,31/03/2022,PN0\r\n"
        b"B200,01/07/2015,04/10/2021,PN6\r\n"
    )


def test_a_child_whose_legal_statuses_were_all_short_breaks_is_left_out_not_a_problem():
    made = export.build(
        [held("r1", "V300", "2010-01-01", "2021-06-01", short_breaks=True)], [coded("r1", "2010-01-01", "PN1")]
    )
    assert (made.rows, made.problems, made.short_breaks_only) == ([], [], 1)


def test_a_held_review_with_no_code_is_listed_never_exported_with_an_invented_one():
    made = export.build(
        [held("r1", "A1", "2010-01-01", "2021-06-01"), held("r2", "A2", "2010-01-01", "2021-06-02")],
        [coded("r1", "2010-01-01", None)],  # r2: the participation service has not heard of it yet
    )
    assert made.rows == []
    assert [(p.la_reference, p.review_date, p.problem) for p in made.problems] == [
        ("A1", dt.date(2021, 6, 1), "no_participation_code"),
        ("A2", dt.date(2021, 6, 2), "no_participation_record"),
    ]


def test_a_review_flagged_after_a_date_of_birth_correction_is_listed_with_what_is_wrong():
    after_18 = held("r2", "A2", "2004-01-01", "2022-02-01", problems=["held_on_or_after_18th_birthday"])
    made = export.build(
        [held("r1", "A1", "2018-01-01", "2021-06-01"), after_18],
        [coded("r1", "2018-01-01", "PN1", problems=["code_invalid_for_age"]), coded("r2", "2004-01-01", "PN1")],
    )
    assert made.rows == []
    assert [(p.la_reference, p.problem) for p in made.problems] == [
        ("A1", "code_invalid_for_age"), ("A2", "held_on_or_after_18th_birthday"),
    ]  # fmt: skip
    assert all(p.detail and p.detail != p.problem for p in made.problems)


def test_the_services_disagreeing_on_a_date_of_birth_holds_the_row_back():
    made = export.build([held("r1", "A1", "2010-01-02", "2021-06-01")], [coded("r1", "2010-01-01", "PN1")])
    assert [p.problem for p in made.problems] == ["date_of_birth_not_yet_agreed"] and made.rows == []


def test_rules_440_and_441_at_the_fourth_birthday_and_a_leap_day_birthday():
    assert export.rule_problems("PN0", dt.date(2021, 5, 31), dt.date(2017, 6, 1)) == []  # the day before: 3
    assert export.rule_problems("PN0", dt.date(2021, 6, 1), dt.date(2017, 6, 1)) == ["rule_440_pn0_at_4_or_over"]
    assert export.rule_problems("PN1", dt.date(2021, 6, 1), dt.date(2017, 6, 1)) == []
    assert export.rule_problems("PN7", dt.date(2021, 5, 31), dt.date(2017, 6, 1)) == ["rule_441_pn1_to_pn7_under_4"]
    assert export.fourth_birthday(dt.date(2016, 2, 29)) == dt.date(2020, 2, 29)
    assert export.fourth_birthday(dt.date(2020, 2, 29)) == dt.date(2024, 2, 29)
    assert export.rule_problems("PN9", dt.date(2021, 6, 1), dt.date(2010, 1, 1)) == [
        "rule_167_code_not_a_participation_code"
    ]
    made = export.build([held("r1", "A1", "2017-06-01", "2021-06-01")], [coded("r1", "2017-06-01", "PN0")])
    assert [p.problem for p in made.problems] == ["rule_440_pn0_at_4_or_over"] and made.rows == []


def test_a_reference_with_a_comma_is_quoted_as_csv_does():
    made = export.build([held("r1", "A,1", "2010-01-01", "2021-06-01")], [coded("r1", "2010-01-01", "PN1")])
    assert export.to_csv(made.rows) == b'CHILD,DOB,REVIEW,REVIEW_CODE\r\n"A,1",01/01/2010,01/06/2021,PN1\r\n'
