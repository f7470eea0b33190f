"""`iro simulate`'s generator, its own timetable and its expected figures: pure and fast (no
database, no network). The run over TCP is tests/e2e/test_simulate.py."""

import datetime as dt
import json
from collections import Counter

import pytest

from shared import calendar as shared_calendar
from shared import cli, reference
from shared.calendar import WorkingCalendar
from shared.ingest import envelope, signing
from shared.ingest.data import DATA_MODELS
from shared.simulate import Options, World, command, expected, generate
from shared.simulate import timetable as tt
from shared.simulate.events import ORDER, cloudevents
from shared.simulate.world import CarePeriod, Child, Iro, Review

D = dt.date
TODAY = D(2026, 10, 1)
LATE_REASONS = set(reference.input_codes("late_review_reasons"))


@pytest.fixture(scope="module")
def world() -> World:
    return generate(Options(children=400, iros=10, years=4, seed=20261001, today=TODAY))


@pytest.fixture(scope="module")
def worlds() -> list[World]:
    """A few more worlds, for rules that must hold whatever the seed."""
    return [generate(Options(children=150, iros=5, years=3, seed=seed, today=TODAY)) for seed in (1, 2, 3)]


def every_world(world: World, worlds: list[World]) -> list[World]:
    return [world, *worlds]


# --- The simulator's own timetable ----------------------------------------------------------------


def test_first_review_20_working_days_from_entering_care_mon_20_dec_2021_is_thu_20_jan_2022():
    assert tt.first_review_due(WorkingCalendar(), D(2021, 12, 20), short_break=False) == D(2022, 1, 20)


def test_first_review_counts_the_jubilee_and_the_state_funeral_as_non_working_days():
    cal = WorkingCalendar()
    assert tt.first_review_due(cal, D(2022, 5, 27), short_break=False) == D(2022, 6, 28)
    assert tt.plus_working_days(cal, D(2022, 9, 12), 10) == D(2022, 9, 27)


def test_months_clamp_to_the_months_end():
    assert tt.plus_months(D(2022, 8, 31), 6) == D(2023, 2, 28)
    assert tt.plus_months(D(2023, 8, 31), 6) == D(2024, 2, 29)
    assert tt.plus_months(D(2024, 11, 30), 3) == D(2025, 2, 28)
    assert tt.plus_months(D(2026, 11, 30), -36) == D(2023, 11, 30)


def test_second_review_3_months_after_the_first_held_then_6_and_short_breaks_3_then_6():
    assert tt.next_review_due(D(2024, 1, 31), held_sequence=1, short_break=False) == D(2024, 4, 30)
    assert tt.next_review_due(D(2024, 4, 30), held_sequence=2, short_break=False) == D(2024, 10, 30)
    assert tt.first_review_due(WorkingCalendar(), D(2024, 11, 30), short_break=True) == D(2025, 2, 28)
    assert tt.next_review_due(D(2025, 2, 28), held_sequence=1, short_break=True) == D(2025, 8, 28)


def test_a_29_february_birthday_comes_on_1_march_in_a_common_year():
    assert tt.birthday(D(2008, 2, 29), 18) == D(2026, 3, 1)
    assert tt.age_on(D(2008, 2, 29), D(2026, 2, 28)) == 17
    assert tt.age_on(D(2008, 2, 29), D(2026, 3, 1)) == 18
    assert tt.age_on(D(2020, 2, 29), D(2024, 2, 29)) == 4


def test_the_oracles_dates_agree_with_the_shared_calendar_on_every_day_of_a_decade():
    """Two independent implementations of the same rules: a difference is a bug in one of them."""
    cal = WorkingCalendar()
    births = [D(2008, 2, 29), D(2012, 12, 31), D(2010, 3, 1), D(2011, 8, 31)]
    day = D(2020, 1, 1)
    while day < D(2030, 1, 1):
        assert tt.plus_months(day, 6) == shared_calendar.add_months(day, 6)
        assert tt.plus_months(day, 3) == shared_calendar.add_months(day, 3)
        for born in births:
            assert tt.age_on(born, day) == shared_calendar.age_on(born, day)
        if day.day in (1, 15, 28):
            assert tt.plus_working_days(cal, day, 20) == cal.add_working_days(day, 20)
        day += dt.timedelta(days=1)


def test_percentages_round_half_up_to_one_place():
    assert tt.percentage(1, 8) == 12.5
    assert tt.percentage(5, 16) == 31.3  # 31.25
    assert tt.percentage(2, 3) == 66.7
    assert tt.percentage(0, 0) is None


# --- Deterministic ----------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_world_and_another_seed_another():
    options = Options(children=60, iros=4, years=3, seed=7, today=TODAY)
    first, again = generate(options), generate(options)
    assert [o.event for o in cloudevents(first)] == [o.event for o in cloudevents(again)]
    assert json.dumps(expected.figures(first)) == json.dumps(expected.figures(again))
    other = generate(Options(children=60, iros=4, years=3, seed=8, today=TODAY))
    assert [o.event for o in cloudevents(other)] != [o.event for o in cloudevents(first)]


def test_a_childs_world_does_not_depend_on_how_many_children_are_asked_for():
    small = generate(Options(children=10, iros=4, years=3, seed=5, today=TODAY))
    large = generate(Options(children=30, iros=4, years=3, seed=5, today=TODAY))
    for a, b in zip(small.children, large.children[:10], strict=True):
        assert (a.date_of_birth, a.periods, a.allocations, a.case_notes) == (
            b.date_of_birth,
            b.periods,
            b.allocations,
            b.case_notes,
        )


def test_event_ids_are_unique_and_stable(world):
    ids = [o.event["id"] for o in cloudevents(world)]
    assert len(ids) == len(set(ids))
    assert all(i.startswith(f"sim-{world.options.seed}-SIM{world.options.seed}-") for i in ids)


# --- The events ------------------------------------------------------------------------------------


def test_every_event_is_a_valid_cloudevent_of_a_type_the_platform_takes(world):
    outgoing = cloudevents(world)
    assert {o.type for o in outgoing} == set(DATA_MODELS)
    for item in outgoing:
        checked = envelope.check(item.event)
        assert isinstance(checked, envelope.Checked), (item.event, checked)
        assert item.event["source"] == "simulator"
        assert item.event["datacontenttype"] == "application/json"
        assert item.event["time"].endswith("Z")


def test_events_are_in_time_order_and_within_the_world(world):
    outgoing = cloudevents(world)
    times = [o.event["time"] for o in outgoing]
    assert times == sorted(times)
    assert world.start <= outgoing[0].day and outgoing[-1].day <= world.end < world.options.today


def test_a_child_is_registered_and_in_care_before_anything_else_about_them(world):
    seen: dict[str, list[str]] = {}
    for item in cloudevents(world):
        seen.setdefault(item.child.la_reference, []).append(item.type)
    for types in seen.values():
        assert types[0] == "child.registered"
        assert types[1] == "care_period.started"
        assert ORDER.index(types[1]) < ORDER.index(types[2])


def test_no_event_on_or_after_the_18th_birthday_but_leaving_care_on_it(world, worlds):
    for w in every_world(world, worlds):
        for item in cloudevents(w):
            cutoff = item.child.eighteenth_birthday
            if item.type == "care_period.ended":
                assert item.day <= cutoff
            else:
                assert item.day < cutoff, item.event


def test_every_child_leaves_care_by_their_18th_birthday(world, worlds):
    aged_out = 0
    for w in every_world(world, worlds):
        for child in w.children:
            for period in child.periods:
                if period.ended_on is None:
                    assert child.eighteenth_birthday > w.end  # still a child at the end of the world
                else:
                    assert period.ended_on <= child.eighteenth_birthday
                    aged_out += period.ended_on == child.eighteenth_birthday
    assert aged_out > 5


def test_codes_come_from_the_reference_lists_and_placements_are_in_use_on_their_day(world):
    legal = reference.codes("legal_status_codes")
    ceased = reference.codes("reason_ceased_codes")
    for child in world.children:
        for period in child.periods:
            assert period.legal_status in legal
            assert all(code in legal for _, code in period.legal_status_changes)
            assert period.placement_type in reference.placement_types_on(period.started_on)
            for day, code, _ in period.placement_changes:
                assert code in reference.placement_types_on(day), (day, code)
                assert period.started_on < day and (period.ended_on is None or day < period.ended_on)
            if period.ended_on is not None:
                assert period.reason in ceased and period.reason != "X1"
            statuses = {period.legal_status} | {code for _, code in period.legal_status_changes}
            assert period.short_break == bool(statuses & {"V3", "V4"})
            assert not period.short_break or statuses <= {"V3", "V4"}


def test_placement_codes_follow_the_2024_change(world):
    # H5 and P2 end with collection year 2024 (31 March 2024), K3 starts with it (1 April 2023).
    for child in world.children:
        for period in child.periods:
            moves = [(period.started_on, period.placement_type)] + [(d, c) for d, c, _ in period.placement_changes]
            for day, code in moves:
                if code in ("H5", "P2"):
                    assert day <= D(2024, 3, 31)
                if code == "K3":
                    assert day >= D(2023, 4, 1)


def test_care_periods_follow_one_another_and_some_children_return(world):
    returned = 0
    for child in world.children:
        for before, after in zip(child.periods, child.periods[1:], strict=False):
            assert before.ended_on is not None and after.started_on > before.ended_on
            returned += 1
        assert child.periods[0].started_on == child.registered_on
        assert child.registered_date_of_birth <= child.registered_on
    assert returned >= 5


def test_each_care_period_starts_with_an_allocation_and_case_notes_are_the_allocated_iros(world):
    reallocated = 0
    for child in world.children:
        days = [day for day, _ in child.allocations]
        assert days == sorted(days)
        for period in child.periods:
            assert period.started_on in days
        reallocated += len(child.allocations) > len(child.periods)
        for note in child.case_notes:
            assert note.iro == child.iro_on(note.recorded_on)
            assert any(p.contains(note.recorded_on) for p in child.periods)
    assert reallocated >= 10


# --- Reviews: the simulator's own timetable ---------------------------------------------------------


def test_reviews_are_planned_by_the_timetable_from_the_days_actually_held(world, worlds):
    cal = WorkingCalendar()
    for w in every_world(world, worlds):
        for child in w.children:
            for period in child.periods:
                previous: Review | None = None
                for review in period.reviews:
                    if previous is None:
                        due = tt.first_review_due(cal, period.started_on, short_break=period.short_break)
                    else:
                        assert previous.held_on is not None  # only the last of a period is ever unheld
                        due = tt.next_review_due(
                            previous.held_on, held_sequence=previous.sequence, short_break=period.short_break
                        )
                    assert (review.sequence, review.statutory_due_on) == (
                        (previous.sequence + 1) if previous else 1,
                        due,
                    )
                    assert due < child.eighteenth_birthday  # never scheduled from the 18th birthday
                    previous = review


def test_reviews_are_held_inside_care_in_order_and_late_ones_have_a_reason(world, worlds):
    for w in every_world(world, worlds):
        for child in w.children:
            for period in child.periods:
                held = [r.held_on for r in period.reviews if r.held_on is not None]
                assert held == sorted(held) and len(held) == len(set(held))
                for review in period.reviews:
                    if review.held_on is None:
                        continue
                    assert period.contains(review.held_on) and review.held_on <= w.end
                    assert review.held_on < child.eighteenth_birthday
                    assert review.chair == child.iro_on(review.held_on)
                    if review.in_time:
                        assert review.late_reason is None
                    else:
                        assert review.late_reason in LATE_REASONS and review.late_reason != "not_recorded"
                        assert (review.late_reason == "other") == (review.late_reason_detail is not None)


def test_most_reviews_are_on_time_some_late_some_missed_and_unheld_ones_close_by_the_rule(world):
    counts = expected.summary(world)
    assert 0.85 < 1 - counts["reviews_held_late"] / counts["reviews_held"] < 0.97
    assert counts["reviews_missed"] >= 5 and counts["reviews_cancelled"] >= 5
    for child in world.children:
        for period in child.periods:
            for review in period.reviews:
                if review.closed is not None:
                    assert review.held_on is None and review.closed_on == period.ended_on
                    assert review.closed == ("missed" if review.statutory_due_on < review.closed_on else "cancelled")
                elif review.held_on is None:
                    assert period.ended_on is None and review is period.reviews[-1]


def test_short_breaks_are_reviewed_3_months_from_the_start_then_6_monthly(world):
    short = [(c, p) for c in world.children for p in c.periods if p.short_break]
    assert short
    for _, period in short:
        assert period.reviews[0].statutory_due_on == tt.plus_months(period.started_on, 3)
        for before, after in zip(period.reviews, period.reviews[1:], strict=False):
            assert before.held_on is not None
            assert after.statutory_due_on == tt.plus_months(before.held_on, 6)


# --- Participation codes -------------------------------------------------------------------------


def test_pn0_exactly_when_under_4_on_the_review_date(world, worlds):
    codes: Counter[str] = Counter()
    on_the_boundary = 0
    for w in every_world(world, worlds):
        for child in w.children:
            fourth = tt.birthday(child.date_of_birth, 4)
            for review in child.reviews():
                if review.code is None:
                    continue
                assert review.held_on is not None
                under_four = tt.age_on(child.date_of_birth, review.held_on) < 4
                assert (review.code == "PN0") == under_four, (child.date_of_birth, review.held_on, review.code)
                assert tt.code_fits_age(review.code, child.date_of_birth, review.held_on)
                codes[review.code] += 1
                on_the_boundary += review.held_on in (fourth, fourth - dt.timedelta(days=1))
    assert set(codes) == {f"PN{n}" for n in range(8)}
    assert on_the_boundary >= 3  # reviews on the 4th birthday and the day before it


def test_some_reviews_are_uncoded_and_some_coded_on_the_api_afterwards(world):
    via = Counter(r.code_via for c in world.children for r in c.reviews() if r.held_on is not None)
    assert via["event"] > via["api"] > 0 and via[None] > 0


# --- Corrections ---------------------------------------------------------------------------------


def test_corrections_are_few_and_a_date_of_birth_is_corrected_before_any_review(world, worlds):
    corrected: Counter[str] = Counter()
    for w in every_world(world, worlds):
        for child in w.children:
            fixed = any("date_of_birth" in correction.changes for correction in child.corrections)
            assert (child.registered_date_of_birth != child.date_of_birth) == fixed
            for correction in child.corrections:
                corrected.update(correction.changes.keys())
                assert child.registered_on < correction.on < child.eighteenth_birthday
                if "date_of_birth" in correction.changes:
                    assert correction.changes["date_of_birth"] == child.date_of_birth.isoformat()
                    assert child.registered_date_of_birth != child.date_of_birth
                    held = [r.held_on for r in child.reviews() if r.held_on is not None]
                    assert not held or correction.on < held[0]
                    age = tt.age_on(child.date_of_birth, child.registered_on)
                    assert tt.age_on(child.registered_date_of_birth, child.registered_on) == age and 5 <= age <= 15
    children = sum(len(w.children) for w in every_world(world, worlds))
    assert corrected["display_name"] > 0 and corrected["sex"] > 0 and corrected["date_of_birth"] > 0
    assert sum(corrected.values()) < children * 0.08 and corrected["date_of_birth"] < children * 0.02


# --- The API activity -------------------------------------------------------------------------------


def test_api_activity_dates_are_in_the_past_and_after_what_they_follow(world):
    escalations = 0
    for child in world.children:
        for period in child.periods:
            for review in period.reviews:
                activity = review.activity
                if review.held_on is None:
                    assert activity is None
                    continue
                assert activity is not None
                for decision in activity.decisions:
                    assert decision.due_on >= review.held_on
                    if decision.completed_on is not None:
                        assert review.held_on <= decision.completed_on <= world.end
                for name, day in activity.record_keeping.items():
                    assert day <= world.end
                    if name != "sw_report_received_on":
                        assert day >= review.held_on
                if activity.midway is not None:
                    assert review.held_on < activity.midway.held_on <= world.end
                if activity.escalation is not None:
                    escalations += 1
                    days = [activity.escalation.raised_on, *(step.on for step in activity.escalation.steps)]
                    assert days == sorted(days) and days[-1] <= world.end
                    assert days[0] < child.eighteenth_birthday
                for form in activity.feedback:
                    assert review.held_on < form.received_on <= world.end
    assert escalations > 5
    assert any(e.scope == "service" for e in world.escalations) or any(e.scope == "children" for e in world.escalations)


def test_the_case_system_world_does_not_change_without_the_api_activity(world):
    with_activity = expected.figures(world, api_activity=True)
    without = expected.figures(world, api_activity=False)
    for a, b in zip(with_activity["periods"], without["periods"], strict=True):
        assert a["timeliness"] == b["timeliness"]
        coded_on_api = sum(
            1
            for child in world.children
            for r in child.reviews()
            if r.code_via == "api" and r.held_on is not None and a["from"] <= r.held_on.isoformat() <= a["to"]
        )
        assert b["participation"]["uncoded"] - a["participation"]["uncoded"] == coded_on_api


# --- Expected figures ----------------------------------------------------------------------------


def small_world(*children: Child, today: dt.date = D(2025, 5, 1)) -> World:
    options = Options(children=len(children), iros=1, years=1, seed=0, today=today)
    return World(options=options, iros=[Iro("iro001", "A B", "a@b.gov.uk", fte=1)], children=list(children))  # type: ignore[arg-type]


def a_child(ref: str, born: dt.date, period: CarePeriod) -> Child:
    return Child(
        index=0, la_reference=ref, date_of_birth=born, registered_date_of_birth=born, display_name="Sam",
        sex="female", uasc=None, registered_on=period.started_on, periods=[period],
    )  # fmt: skip


def test_timeliness_counts_held_late_overdue_missed_and_never_cancelled_reviews():
    held_in_time = Review(1, D(2024, 5, 1), held_on=D(2024, 4, 28), code="PN1", code_via="event")
    held_late = Review(2, D(2024, 7, 28), held_on=D(2024, 8, 5), late_reason="iro_unavailable", code_via=None)
    missed = Review(3, D(2025, 2, 5), closed="missed", closed_on=D(2025, 2, 20))
    sam = a_child("A", D(2015, 1, 1), CarePeriod(D(2024, 4, 2), "C2", "U4", False, D(2025, 2, 20), "E4A",
                                                 reviews=[held_in_time, held_late, missed]))  # fmt: skip
    cancelled = Review(1, D(2025, 1, 20), closed="cancelled", closed_on=D(2025, 1, 10))
    jo = a_child("B", D(2023, 3, 1), CarePeriod(D(2024, 12, 20), "V2", "U6", False, D(2025, 1, 10), "E4A",
                                                reviews=[cancelled]))  # fmt: skip
    overdue_now = Review(1, D(2025, 4, 25))
    ali = a_child("C", D(2010, 6, 1), CarePeriod(D(2025, 3, 27), "C1", "K2", False, reviews=[overdue_now]))
    world = small_world(sam, jo, ali)
    year = expected.timeliness(world, D(2024, 4, 1), D(2025, 3, 31))
    assert year == {
        "reviews_held": 2,
        "held_in_time": 1,
        "pct_in_time": 50.0,
        "overdue_unheld": 1,  # the missed one; the cancelled one never counts
        "by_sequence": {
            "first": {"held": 1, "in_time": 1},
            "second": {"held": 1, "in_time": 0},
            "subsequent": {"held": 0, "in_time": 0},
        },
        "late_by_reason": {"iro_unavailable": 1},
        "children_reviewed": 1,
        "children_all_in_time": 0,
        "pct_children_all_in_time": 0.0,
        "not_judged": 0,
        "as_of": "2025-03-31",
    }
    running = expected.timeliness(world, D(2025, 4, 1), D(2026, 3, 31))
    assert (running["as_of"], running["overdue_unheld"], running["children_reviewed"]) == ("2025-05-01", 1, 1)
    # Asked as of a day before it was due, the same review is not overdue.
    assert expected.timeliness(world, D(2025, 4, 1), D(2025, 4, 24))["overdue_unheld"] == 0
    # A review held after the period, due in it: overdue unheld as of the period's end.
    assert expected.timeliness(world, D(2024, 7, 1), D(2024, 7, 31))["overdue_unheld"] == 1


def test_participation_counts_codes_uncoded_and_the_rate_of_children_aged_4_and_over():
    reviews = [
        Review(1, D(2024, 5, 1), held_on=D(2024, 4, 30), code="PN0", code_via="event"),  # the day before 4
        Review(2, D(2024, 7, 30), held_on=D(2024, 5, 1), code="PN1", code_via="event"),  # the 4th birthday
        Review(3, D(2024, 11, 1), held_on=D(2024, 10, 1), code="PN7", code_via="api"),
        Review(4, D(2025, 4, 1), held_on=D(2025, 3, 3), code=None, code_via=None),
    ]
    child = a_child("A", D(2020, 5, 1), CarePeriod(D(2024, 4, 2), "C2", "U4", False, reviews=reviews))
    world = small_world(child)
    figures = expected.participation(world, D(2024, 4, 1), D(2025, 3, 31), api_activity=True)
    assert figures["reviews"] == 4 and figures["uncoded"] == 1
    assert figures["by_code"] == {"PN0": 1, "PN1": 1, "PN2": 0, "PN3": 0, "PN4": 0, "PN5": 0, "PN6": 0, "PN7": 1}
    assert figures["aged_4_plus"] == {"reviews": 2, "participated": 1, "pct": 50.0}
    assert figures["by_age"] == [{"age": 4, "reviews": 2, "participated": 1, "pct": 50.0}]
    without = expected.participation(world, D(2024, 4, 1), D(2025, 3, 31), api_activity=False)
    assert without["uncoded"] == 2 and without["aged_4_plus"]["reviews"] == 1


def test_the_document_covers_every_collection_and_calendar_year_of_the_world(world):
    document = expected.figures(world)
    names = [p["name"] for p in document["periods"]]
    assert names[0] == "collection year 2022-23" and "collection year 2026-27" in names
    assert "calendar year 2022" in names and "calendar year 2026" in names and names[-1] == "the whole simulation"
    whole = document["periods"][-1]
    assert whole["timeliness"]["reviews_held"] == document["world"]["reviews_held"]
    assert {"timeliness", "participation", "from", "to", "name"} == set(whole)


def test_differences_name_each_field_that_differs():
    assert expected.differences({"a": 1, "b": {"c": [1, 2]}}, {"a": 1, "b": {"c": [1, 3]}}) == [
        "b.c[1]: expected 2, the platform says 3"
    ]
    assert expected.differences({"a": 1}, {"a": 1, "z": 2}) == ["z: the platform says 2, not in the expected figures"]


# --- The command -------------------------------------------------------------------------------


def test_iro_simulate_dry_run_writes_the_expected_figures(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IRO_TODAY", "2026-10-01")
    out = tmp_path / "expected.json"
    argv = ["simulate", "--children", "30", "--iros", "3", "--years", "2", "--seed", "11", "--dry-run"]
    assert cli.main([*argv, "--expected", str(out)]) == 0
    document = json.loads(out.read_text())
    assert document["simulation"] == {
        "seed": 11, "children": 30, "iros": 3, "years": 2, "from": "2024-10-01", "to": "2026-09-30",
        "today": "2026-10-01", "api_activity": True,
    }  # fmt: skip
    assert "30 children, 3 IROs, 2024-10-01 to 2026-09-30" in capsys.readouterr().out


def test_iro_simulate_refuses_nonsense_sizes(capsys):
    assert cli.main(["simulate", "--children", "0", "--iros", "1", "--years", "1", "--seed", "1", "--dry-run"]) == 2


def test_iro_simulate_says_plainly_when_the_gateway_cannot_be_reached(capsys):
    argv = [
        "simulate",
        "--children",
        "3",
        "--iros",
        "1",
        "--years",
        "1",
        "--seed",
        "1",
        "--gateway",
        "http://127.0.0.1:9",
    ]
    assert cli.main(argv) == 1
    assert "cannot reach the gateway at http://127.0.0.1:9" in capsys.readouterr().err


def test_the_signing_secret_is_the_simulator_sources_else_the_development_one():
    assert command.signing_secret({}) == signing.DEVELOPMENT_SECRET
    assert command.signing_secret({"IRO_INGEST_SECRETS": '{"simulator": ["whsec_a", "whsec_b"]}'}) == "whsec_a"
    assert command.signing_secret({"IRO_INGEST_SECRETS": '{"mosaic": ["whsec_m"]}'}) == signing.DEVELOPMENT_SECRET
