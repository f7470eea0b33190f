"""SSDA903 rows to events (services.gateway.ssda903_map): the mapping of docs/ssda903.md, one
child's rows at a time, with the DfE's field names."""

from __future__ import annotations

import datetime as dt

from services.gateway.ssda903_map import Staged, collection_year, column_of, derive_child

TODAY = dt.date(2022, 6, 1)


def episode(row: int, decom: str, rne: str, *, ls: str = "C2", place: str = "U4", dec: str | None = None,
            rec: str | None = None) -> Staged:  # fmt: skip
    return Staged("episodes", row, {"CHILD": "7", "DECOM": decom, "RNE": rne, "LS": ls, "PLACE": place, "DEC": dec,
                                    "REC": rec})  # fmt: skip


def header(row: int = 2, dob: str = "01/05/2012", sex: str | None = "2") -> Staged:
    return Staged("header", row, {"CHILD": "7", "SEX": sex, "DOB": dob})


def review(row: int, day: str, code: str | None = "PN1") -> Staged:
    return Staged("reviews", row, {"CHILD": "7", "REVIEW": day, "REVIEW_CODE": code})


def test_the_collection_year_runs_from_april_to_march():
    assert collection_year(2022) == (dt.date(2021, 4, 1), dt.date(2022, 3, 31))


def test_a_child_s_rows_become_events_in_date_order_across_the_files():
    rows = [
        review(2, "20/05/2021"),
        episode(4, "01/06/2021", "P", place="U5"),
        episode(3, "01/05/2021", "S", dec="01/06/2021", rec="X1"),
        episode(5, "01/07/2021", "B", ls="C1", place="U6", dec="10/08/2021", rec="E11"),
        review(3, "10/08/2021", "PN0"),
        header(),
    ]
    out = derive_child("7", rows, year=2022, today=TODAY)
    assert out.refusals == []
    assert [(e.type, e.day and e.day.isoformat(), e.rows) for e in out.events] == [
        ("child.registered", None, [("header", 2)]),
        ("care_period.started", "2021-05-01", [("episodes", 3)]),
        ("review.held", "2021-05-20", [("reviews", 2)]),
        ("placement.changed", "2021-06-01", [("episodes", 4)]),
        ("legal_status.changed", "2021-07-01", [("episodes", 5)]),
        ("placement.changed", "2021-07-01", [("episodes", 5)]),
        ("review.held", "2021-08-10", [("reviews", 3)]),  # a review on the day the period ends comes first
        ("care_period.ended", "2021-08-10", [("episodes", 5)]),
    ]
    ids = [e.id for e in out.events]
    assert ids[0] == "ssda903:header:7"
    assert ids[1] == "ssda903:episodes:7:2021-05-01:1:start"
    assert ids[-1] == "ssda903:episodes:7:2021-07-01:1:end"
    assert ids[2] == "ssda903:reviews:7:2021-05-20"
    started = out.events[1].data
    assert started == {"la_reference": "7", "started_on": "2021-05-01", "legal_status": "C2", "placement_type": "U4"}
    assert out.events[0].data == {"la_reference": "7", "date_of_birth": "2012-05-01", "sex": "female"}
    assert out.events[6].data["participation_code"] == "PN0"  # the service judges it against the age
    assert out.events[1].cloudevent()["time"] == "2021-05-01T00:00:00Z"


def test_a_first_episode_that_is_not_s_or_an_s_before_the_year_began_before_the_data():
    later = derive_child("7", [header(), episode(2, "01/05/2021", "L")], year=2022, today=TODAY)
    assert later.events[1].type == "care_period.started"
    assert later.events[1].data["started_before_data"] is True
    earlier = derive_child("7", [header(), episode(2, "01/03/2019", "S")], year=2022, today=TODAY)
    assert earlier.events[1].data["started_before_data"] is True  # its reviews before April 2021 are not here
    inside = derive_child("7", [header(), episode(2, "01/04/2021", "S")], year=2022, today=TODAY)
    assert "started_before_data" not in inside.events[1].data


def test_dates_outside_the_return_and_bad_values_are_refused_naming_the_column():
    rows = [
        header(dob="31/02/2012"),
        episode(2, "01/04/2022", "S"),  # after 31 March 2022
        episode(3, "2021-05-01", "S"),  # not dd/mm/yyyy
        episode(4, "01/05/2021", "X"),
        episode(5, "01/06/2021", "P", dec="01/07/2021"),  # DEC without REC
        review(2, "31/03/2021"),  # before the year
        review(3, "20/05/2022"),  # after it
        Staged("reviews", 4, {"CHILD": "7", "REVIEW": None, "REVIEW_CODE": None}),
        Staged("episodes", 6, {"CHILD": "7"}, problem="Row 6: it has 3 fields; the header has 13."),
    ]
    out = derive_child("7", rows, year=2022, today=TODAY)
    assert sorted((r.table, r.row, r.field) for r in out.refusals) == [
        ("episodes", 2, "DECOM"), ("episodes", 3, "DECOM"), ("episodes", 4, "RNE"), ("episodes", 5, "REC"),
        ("episodes", 6, None), ("header", 2, "DOB"), ("reviews", 2, "REVIEW"), ("reviews", 3, "REVIEW"),
        ("reviews", 4, "REVIEW"),
    ]  # fmt: skip
    reasons = {(r.table, r.row): r.reason for r in out.refusals}
    assert "a return for 2022 cannot contain it" in reasons[("episodes", 2)]
    assert "before 01/04/2021" in reasons[("reviews", 2)]
    assert out.events == []


def test_after_today_is_refused_and_a_code_not_on_the_list_is_refused_alone():
    out = derive_child("7", [header(), episode(2, "01/05/2021", "S"), review(2, "10/05/2021", "pn9"),
                             review(3, "25/05/2022")], year=2022, today=dt.date(2022, 5, 20))  # fmt: skip
    [coded] = [e for e in out.events if e.type == "review.held"]
    assert "participation_code" not in coded.data
    assert out.notes[("reviews", 2)][0] == "REVIEW_CODE"
    assert [(r.row, r.field) for r in out.refusals] == [(3, "REVIEW")]  # 25/05/2022 is after 31/03/2022


def test_a_repeated_header_row_is_refused_and_episodes_on_one_day_are_numbered():
    out = derive_child("7", [header(2), header(3), episode(2, "01/05/2021", "S"),
                             episode(3, "01/05/2021", "P", place="U5")], year=2022, today=TODAY)  # fmt: skip
    assert [(r.row, r.field) for r in out.refusals] == [(3, "CHILD")]
    assert [e.id for e in out.events if e.type != "child.registered"] == [
        "ssda903:episodes:7:2021-05-01:1:start", "ssda903:episodes:7:2021-05-01:2:placement",
    ]  # fmt: skip


def test_a_services_problem_names_the_903_column():
    assert column_of({"errors": [{"loc": ["data", "placement_type"], "msg": "x"}]}) == "PLACE"
    assert column_of({"errors": [{"loc": ["data", "held_on"], "msg": "x"}]}) == "REVIEW"
    assert column_of({"type": "x"}) is None
