"""The dispute resolution process as a pure state machine (services/escalations/rules.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from services.escalations.errors import (
    BeforeCurrentStage,
    EscalationAtLastStage,
    EscalationNotOpen,
    ScopeMismatch,
    StageAlreadyAnswered,
)
from services.escalations.rules import (
    ACTIONS,
    Action,
    EscalationState,
    Kind,
    Ladder,
    Stage,
    Status,
    allowed_actions,
    check_category,
    check_scope,
    check_text,
    current_response_due_on,
    default_categories,
    escalate,
    is_overdue,
    is_stage_overdue,
    raise_escalation,
    refer_to_cafcass,
    resolve,
    respond,
    response_due_on,
    withdraw,
    working_days_to_resolution,
)
from shared.calendar import WorkingCalendar
from shared.errors import CodeNotOnList, DateInFuture, DomainError, TextRequired

D = dt.date

LADDER = Ladder.default()
CALENDAR = WorkingCalendar()

RAISED = D(2022, 10, 3)  # Monday
ENTERED = D(2022, 10, 10)  # Monday: when the current stage began (for stages entered by escalating)
ON = D(2022, 10, 17)  # the action's date
TODAY = D(2022, 10, 20)
EARLIER_CLOSE = D(2022, 10, 14)

OPEN = Status.OPEN
RESOLVED = Status.RESOLVED
WITHDRAWN = Status.WITHDRAWN
REFERRED = Status.REFERRED_TO_CAFCASS


def open_at(stage, *, responded=False, alert=False, entered=ENTERED):
    return EscalationState(
        status=OPEN,
        stage=stage,
        raised_on=RAISED,
        stage_entered_on=entered,
        responded=responded,
        raised_as_alert=alert,
    )


def closed(status, stage, *, responded=False, alert=False, entered=ENTERED, on=ON):
    return EscalationState(
        status=status,
        stage=stage,
        raised_on=RAISED,
        stage_entered_on=entered,
        responded=responded,
        raised_as_alert=alert,
        closed_on=on,
    )


@dataclass(frozen=True)
class Refused:
    """An expected 409: the `current_state` extra and words the detail must contain."""

    current_state: str
    mentions: str

    @property
    def error(self) -> type[DomainError]:
        if self.current_state != "open":
            return EscalationNotOpen
        return EscalationAtLastStage if self.mentions == LAST else StageAlreadyAnswered


def perform(action, state, *, on=ON, today=TODAY, ladder=LADDER):
    if action == "respond":
        return respond(state, on, today)
    if action == "escalate":
        return escalate(state, on, today, ladder)
    if action == "resolve":
        return resolve(state, on, today)
    if action == "withdraw":
        return withdraw(state, on, today)
    if action == "refer_to_cafcass":
        return refer_to_cafcass(state, on, today)
    raise AssertionError(action)


# --- Every reachable state x every action -----------------------------------------------------

STATES = {
    "alert_0": open_at(0, alert=True, entered=RAISED),
    "alert_0_answered": open_at(0, responded=True, alert=True, entered=RAISED),
    "formal_1": open_at(1, entered=RAISED),
    "formal_1_answered": open_at(1, responded=True, entered=RAISED),
    "escalated_alert_1": open_at(1, alert=True),
    "formal_2": open_at(2),
    "formal_2_answered": open_at(2, responded=True),
    "formal_3": open_at(3),
    "formal_3_answered": open_at(3, responded=True),
    "formal_4": open_at(4),
    "formal_4_answered": open_at(4, responded=True),
    "last_5": open_at(5),
    "last_5_answered": open_at(5, responded=True),
    "resolved": closed(RESOLVED, 2, responded=True, on=EARLIER_CLOSE),
    "withdrawn": closed(WITHDRAWN, 1, on=EARLIER_CLOSE),
    "referred_to_cafcass": closed(REFERRED, 0, alert=True, entered=RAISED, on=EARLIER_CLOSE),
}

LAST = "stage 5 (Director of Children's Services) is the last stage of the ladder"

# (state, action, expected): written out in full, not derived from `allowed_actions`.
TABLE = [
    ("alert_0", "respond", open_at(0, responded=True, alert=True, entered=RAISED)),
    ("alert_0", "escalate", open_at(1, alert=True, entered=ON)),
    ("alert_0", "resolve", closed(RESOLVED, 0, alert=True, entered=RAISED)),
    ("alert_0", "withdraw", closed(WITHDRAWN, 0, alert=True, entered=RAISED)),
    ("alert_0", "refer_to_cafcass", closed(REFERRED, 0, alert=True, entered=RAISED)),
    ("alert_0_answered", "respond", Refused("open", "stage 0 has already been answered")),
    ("alert_0_answered", "escalate", open_at(1, alert=True, entered=ON)),
    ("alert_0_answered", "resolve", closed(RESOLVED, 0, responded=True, alert=True, entered=RAISED)),
    ("alert_0_answered", "withdraw", closed(WITHDRAWN, 0, responded=True, alert=True, entered=RAISED)),
    ("alert_0_answered", "refer_to_cafcass", closed(REFERRED, 0, responded=True, alert=True, entered=RAISED)),
    ("formal_1", "respond", open_at(1, responded=True, entered=RAISED)),
    ("formal_1", "escalate", open_at(2, entered=ON)),
    ("formal_1", "resolve", closed(RESOLVED, 1, entered=RAISED)),
    ("formal_1", "withdraw", closed(WITHDRAWN, 1, entered=RAISED)),
    ("formal_1", "refer_to_cafcass", closed(REFERRED, 1, entered=RAISED)),
    ("formal_1_answered", "respond", Refused("open", "stage 1 has already been answered")),
    ("formal_1_answered", "escalate", open_at(2, entered=ON)),
    ("formal_1_answered", "resolve", closed(RESOLVED, 1, responded=True, entered=RAISED)),
    ("formal_1_answered", "withdraw", closed(WITHDRAWN, 1, responded=True, entered=RAISED)),
    ("formal_1_answered", "refer_to_cafcass", closed(REFERRED, 1, responded=True, entered=RAISED)),
    ("escalated_alert_1", "respond", open_at(1, responded=True, alert=True)),
    ("escalated_alert_1", "escalate", open_at(2, alert=True, entered=ON)),
    ("escalated_alert_1", "resolve", closed(RESOLVED, 1, alert=True)),
    ("escalated_alert_1", "withdraw", closed(WITHDRAWN, 1, alert=True)),
    ("escalated_alert_1", "refer_to_cafcass", closed(REFERRED, 1, alert=True)),
    ("formal_2", "respond", open_at(2, responded=True)),
    ("formal_2", "escalate", open_at(3, entered=ON)),
    ("formal_2", "resolve", closed(RESOLVED, 2)),
    ("formal_2", "withdraw", closed(WITHDRAWN, 2)),
    ("formal_2", "refer_to_cafcass", closed(REFERRED, 2)),
    ("formal_2_answered", "respond", Refused("open", "stage 2 has already been answered")),
    ("formal_2_answered", "escalate", open_at(3, entered=ON)),
    ("formal_2_answered", "resolve", closed(RESOLVED, 2, responded=True)),
    ("formal_2_answered", "withdraw", closed(WITHDRAWN, 2, responded=True)),
    ("formal_2_answered", "refer_to_cafcass", closed(REFERRED, 2, responded=True)),
    ("formal_3", "respond", open_at(3, responded=True)),
    ("formal_3", "escalate", open_at(4, entered=ON)),
    ("formal_3", "resolve", closed(RESOLVED, 3)),
    ("formal_3", "withdraw", closed(WITHDRAWN, 3)),
    ("formal_3", "refer_to_cafcass", closed(REFERRED, 3)),
    ("formal_3_answered", "respond", Refused("open", "stage 3 has already been answered")),
    ("formal_3_answered", "escalate", open_at(4, entered=ON)),
    ("formal_3_answered", "resolve", closed(RESOLVED, 3, responded=True)),
    ("formal_3_answered", "withdraw", closed(WITHDRAWN, 3, responded=True)),
    ("formal_3_answered", "refer_to_cafcass", closed(REFERRED, 3, responded=True)),
    ("formal_4", "respond", open_at(4, responded=True)),
    ("formal_4", "escalate", open_at(5, entered=ON)),
    ("formal_4", "resolve", closed(RESOLVED, 4)),
    ("formal_4", "withdraw", closed(WITHDRAWN, 4)),
    ("formal_4", "refer_to_cafcass", closed(REFERRED, 4)),
    ("formal_4_answered", "respond", Refused("open", "stage 4 has already been answered")),
    ("formal_4_answered", "escalate", open_at(5, entered=ON)),
    ("formal_4_answered", "resolve", closed(RESOLVED, 4, responded=True)),
    ("formal_4_answered", "withdraw", closed(WITHDRAWN, 4, responded=True)),
    ("formal_4_answered", "refer_to_cafcass", closed(REFERRED, 4, responded=True)),
    ("last_5", "respond", open_at(5, responded=True)),
    ("last_5", "escalate", Refused("open", LAST)),
    ("last_5", "resolve", closed(RESOLVED, 5)),
    ("last_5", "withdraw", closed(WITHDRAWN, 5)),
    ("last_5", "refer_to_cafcass", closed(REFERRED, 5)),
    ("last_5_answered", "respond", Refused("open", "stage 5 has already been answered")),
    ("last_5_answered", "escalate", Refused("open", LAST)),
    ("last_5_answered", "resolve", closed(RESOLVED, 5, responded=True)),
    ("last_5_answered", "withdraw", closed(WITHDRAWN, 5, responded=True)),
    ("last_5_answered", "refer_to_cafcass", closed(REFERRED, 5, responded=True)),
    ("resolved", "respond", Refused("resolved", "already resolved")),
    ("resolved", "escalate", Refused("resolved", "already resolved")),
    ("resolved", "resolve", Refused("resolved", "already resolved")),
    ("resolved", "withdraw", Refused("resolved", "already resolved")),
    ("resolved", "refer_to_cafcass", Refused("resolved", "already resolved")),
    ("withdrawn", "respond", Refused("withdrawn", "already withdrawn")),
    ("withdrawn", "escalate", Refused("withdrawn", "already withdrawn")),
    ("withdrawn", "resolve", Refused("withdrawn", "already withdrawn")),
    ("withdrawn", "withdraw", Refused("withdrawn", "already withdrawn")),
    ("withdrawn", "refer_to_cafcass", Refused("withdrawn", "already withdrawn")),
    ("referred_to_cafcass", "respond", Refused("referred_to_cafcass", "already referred to Cafcass")),
    ("referred_to_cafcass", "escalate", Refused("referred_to_cafcass", "already referred to Cafcass")),
    ("referred_to_cafcass", "resolve", Refused("referred_to_cafcass", "already referred to Cafcass")),
    ("referred_to_cafcass", "withdraw", Refused("referred_to_cafcass", "already referred to Cafcass")),
    (
        "referred_to_cafcass",
        "refer_to_cafcass",
        Refused("referred_to_cafcass", "already referred to Cafcass"),
    ),
]


def test_the_table_covers_every_state_and_every_action_once():
    pairs = [(name, action) for name, action, _ in TABLE]
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == {(name, action.value) for name in STATES for action in ACTIONS}


@pytest.mark.parametrize(("name", "action", "expected"), TABLE, ids=[f"{n}-{a}" for n, a, _ in TABLE])
def test_every_state_and_action(name, action, expected):
    state = STATES[name]
    if isinstance(expected, Refused):
        with pytest.raises(DomainError) as caught:
            perform(action, state)
        assert type(caught.value) is expected.error
        assert caught.value.status == 409
        assert caught.value.extras["current_state"] == expected.current_state
        assert caught.value.extras["stage"] == state.stage
        assert expected.mentions in caught.value.detail
        assert Action(action) not in allowed_actions(state, LADDER)
    else:
        assert perform(action, state) == expected
        assert Action(action) in allowed_actions(state, LADDER)


def test_closed_states_allow_nothing_and_open_ones_always_allow_closing():
    for name, state in STATES.items():
        allowed = allowed_actions(state, LADDER)
        if state.is_open:
            assert {Action.RESOLVE, Action.WITHDRAW, Action.REFER_TO_CAFCASS} <= allowed, name
        else:
            assert allowed == frozenset(), name


def test_an_escalated_alert_is_formal_but_still_counted_as_raised_as_an_alert():
    alert, _ = raise_escalation("alert", D(2022, 10, 3), TODAY, LADDER, CALENDAR)
    assert alert.kind is Kind.ALERT
    formal = escalate(alert, D(2022, 10, 5), TODAY, LADDER)
    assert formal.stage == 1
    assert formal.kind is Kind.FORMAL
    assert formal.raised_as_alert is True
    assert formal.stage_entered_on == D(2022, 10, 5)


def test_escalating_is_allowed_whether_or_not_the_stage_was_answered_and_resets_the_response():
    unanswered = escalate(open_at(2), ON, TODAY, LADDER)
    answered = escalate(open_at(2, responded=True), ON, TODAY, LADDER)
    assert unanswered == answered == open_at(3, entered=ON)
    assert respond(answered, ON, TODAY).responded is True


# --- Raising and due dates across bank holidays ---------------------------------------------


def test_alert_raised_mon_20_dec_2021_is_due_thu_6_jan_2022():
    # Working days: 21, 22, 23, 24 Dec; not 25-28 Dec (weekend, Christmas and Boxing Day substitutes);
    # 29, 30, 31 Dec; not 1-3 Jan (weekend, New Year's Day substitute); 4, 5, 6 Jan.
    state, due = raise_escalation("alert", D(2021, 12, 20), D(2021, 12, 20), LADDER, CALENDAR)
    assert due == D(2022, 1, 6)
    assert due.weekday() == 3  # Thursday
    assert state == EscalationState(
        status=OPEN,
        stage=0,
        raised_on=D(2021, 12, 20),
        stage_entered_on=D(2021, 12, 20),
        responded=False,
        raised_as_alert=True,
    )


def test_formal_escalation_starts_at_stage_1():
    state, due = raise_escalation("formal", D(2022, 9, 12), D(2022, 9, 12), LADDER, CALENDAR)
    assert state.stage == 1
    assert state.raised_as_alert is False
    assert state.kind is Kind.FORMAL
    assert due == D(2022, 9, 27)


def test_stage_entered_mon_12_sep_2022_is_due_tue_27_sep_2022_across_the_state_funeral():
    # 13-16 Sep (4); Mon 19 Sep State Funeral; 20-23 Sep (8); 26, 27 Sep (10).
    due = response_due_on(CALENDAR, D(2022, 9, 12), LADDER.get(2))
    assert due == D(2022, 9, 27)
    assert due.weekday() == 1  # Tuesday
    stage_1, _ = raise_escalation("formal", D(2022, 9, 5), D(2022, 9, 5), LADDER, CALENDAR)
    state = escalate(stage_1, D(2022, 9, 12), D(2022, 9, 12), LADDER)
    assert (state.stage, state.stage_entered_on) == (2, D(2022, 9, 12))
    assert current_response_due_on(state, LADDER, CALENDAR) == D(2022, 9, 27)


def test_stage_entered_mon_3_apr_2023_is_due_wed_19_apr_2023_across_easter():
    # 4, 5, 6 Apr (3); Good Friday 7 Apr and Easter Monday 10 Apr; 11-14 Apr (7); 17, 18, 19 Apr (10).
    due = response_due_on(CALENDAR, D(2023, 4, 3), LADDER.get(3))
    assert due == D(2023, 4, 19)
    assert due.weekday() == 2  # Wednesday


def test_stage_entered_thu_27_apr_2023_is_due_mon_15_may_2023_across_both_may_bank_holidays():
    # 28 Apr (1); Mon 1 May early May bank holiday; 2-5 May (5); Mon 8 May Coronation; 9-12 May (9); 15 May.
    assert response_due_on(CALENDAR, D(2023, 4, 27), LADDER.get(1)) == D(2023, 5, 15)


def test_due_date_with_no_holidays_and_with_a_local_closure_day():
    assert response_due_on(CALENDAR, D(2023, 3, 6), LADDER.get(1)) == D(2023, 3, 20)
    closed_friday = WorkingCalendar(closure_days=[D(2023, 3, 10)])
    assert response_due_on(closed_friday, D(2023, 3, 6), LADDER.get(1)) == D(2023, 3, 21)


def test_due_date_uses_the_stage_window_of_the_configured_ladder():
    quick = Ladder((Stage(0, "Informal alert", 5), Stage(1, "Team Manager", 3)))
    # 21, 22, 23, 24 Dec 2021, then 29 Dec (Christmas).
    _, due = raise_escalation("alert", D(2021, 12, 20), D(2021, 12, 20), quick, CALENDAR)
    assert due == D(2021, 12, 29)
    _, due = raise_escalation("formal", D(2021, 12, 20), D(2021, 12, 20), quick, CALENDAR)
    assert due == D(2021, 12, 23)


def test_raising_in_the_future_or_with_an_unknown_kind_is_422():
    with pytest.raises(DateInFuture) as caught:
        raise_escalation("alert", D(2022, 10, 21), TODAY, LADDER, CALENDAR)
    assert caught.value.status == 422
    assert caught.value.extras["errors"][0]["loc"] == ["body", "raised_on"]
    with pytest.raises(CodeNotOnList) as caught:
        raise_escalation("complaint", TODAY, TODAY, LADDER, CALENDAR)
    assert caught.value.extras["errors"][0]["loc"] == ["body", "kind"]
    assert "alert, formal" in caught.value.detail


def test_working_days_from_raising_to_resolution():
    assert working_days_to_resolution(CALENDAR, D(2021, 12, 20), D(2022, 1, 6)) == 10
    assert working_days_to_resolution(CALENDAR, D(2022, 9, 12), D(2022, 9, 27)) == 10
    assert working_days_to_resolution(CALENDAR, D(2022, 9, 12), D(2022, 9, 12)) == 0


# --- Overdue ------------------------------------------------------------------------------------

ALERT_20_DEC = EscalationState(
    status=OPEN,
    stage=0,
    raised_on=D(2021, 12, 20),
    stage_entered_on=D(2021, 12, 20),
    responded=False,
    raised_as_alert=True,
)
DUE_6_JAN = D(2022, 1, 6)


@pytest.mark.parametrize(
    ("today", "overdue"),
    [
        (D(2022, 1, 5), False),
        (D(2022, 1, 6), False),  # the due day itself
        (D(2022, 1, 7), True),  # the day after
        (D(2022, 2, 1), True),
    ],
)
def test_an_unanswered_open_stage_is_overdue_only_after_its_due_day(today, overdue):
    assert current_response_due_on(ALERT_20_DEC, LADDER, CALENDAR) == DUE_6_JAN
    assert is_overdue(ALERT_20_DEC, DUE_6_JAN, today) is overdue


def test_an_answered_or_closed_stage_is_not_overdue():
    after = D(2022, 1, 7)
    answered = respond(ALERT_20_DEC, D(2022, 1, 7), after)
    assert is_overdue(answered, DUE_6_JAN, after) is False
    for close in (resolve, withdraw, refer_to_cafcass):
        assert is_overdue(close(ALERT_20_DEC, D(2022, 1, 4), after), DUE_6_JAN, after) is False
    assert is_stage_overdue(is_open=True, responded=False, response_due_on=DUE_6_JAN, today=after) is True
    assert is_stage_overdue(is_open=False, responded=False, response_due_on=DUE_6_JAN, today=after) is False


# --- A ladder of four formal stages -----------------------------------------------------------

FOUR_STAGE_ROWS = [
    {"stage": "0", "name": "Informal alert", "response_working_days": "10"},
    {"stage": "1", "name": "Team Manager", "response_working_days": "10"},
    {"stage": "2", "name": "Service Manager", "response_working_days": "10"},
    {"stage": "3", "name": "Head of Service", "response_working_days": "10"},
    {"stage": "4", "name": "Assistant Director", "response_working_days": "10"},
]


@pytest.mark.parametrize("four", [Ladder.from_rows(FOUR_STAGE_ROWS), LADDER.up_to(4)], ids=["rows", "up_to"])
def test_four_formal_stages_escalate_from_3_to_4_and_not_beyond(four):
    assert four.last == 4
    assert escalate(open_at(3), ON, TODAY, four) == open_at(4, entered=ON)
    assert Action.ESCALATE not in allowed_actions(open_at(4), four)
    with pytest.raises(EscalationAtLastStage) as caught:
        escalate(open_at(4), ON, TODAY, four)
    assert caught.value.status == 409
    assert caught.value.extras == {"current_state": "open", "stage": 4}
    assert "stage 4 (Assistant Director) is the last stage" in caught.value.detail


def test_the_default_ladder_is_the_reference_one():
    assert [(s.stage, s.name, s.response_working_days) for s in LADDER.stages] == [
        (0, "Informal alert (social worker and team manager)", 10),
        (1, "Team Manager", 10),
        (2, "Service Manager", 10),
        (3, "Head of Service", 10),
        (4, "Assistant Director", 10),
        (5, "Director of Children's Services", 10),
    ]
    assert LADDER.first_formal == 1
    assert LADDER.last == 5
    assert LADDER.get(4) == Stage(4, "Assistant Director", 10)
    with pytest.raises(KeyError):
        LADDER.get(6)


def test_rows_may_come_in_any_order_and_as_numbers():
    rows = [
        {"stage": 1, "name": "Team Manager", "response_working_days": 15},
        {"stage": 0, "name": "Informal alert", "response_working_days": 5},
    ]
    assert Ladder.from_rows(rows).stages == (Stage(0, "Informal alert", 5), Stage(1, "Team Manager", 15))


@pytest.mark.parametrize(
    "stages",
    [
        [(1, "Team Manager", 10), (2, "Service Manager", 10)],  # no stage 0
        [(0, "Informal alert", 10), (1, "Team Manager", 10), (3, "Head of Service", 10)],  # a gap
        [(0, "Informal alert", 10), (1, "Team Manager", 10), (1, "Team Manager", 10)],  # repeated
        [(0, "Informal alert", 10)],  # no formal stage
        [],
        [(0, "Informal alert", 10), (1, "Team Manager", 0)],  # no working days to respond
        [(0, "Informal alert", 10), (1, " ", 10)],  # no addressee
    ],
)
def test_a_malformed_ladder_is_refused(stages):
    rows = [{"stage": str(n), "name": name, "response_working_days": str(days)} for n, name, days in stages]
    with pytest.raises(ValueError, match="stage"):
        Ladder.from_rows(rows)


# --- Dates of actions -----------------------------------------------------------------------

DATE_FIELDS = [
    ("respond", "responded_on"),
    ("escalate", "escalated_on"),
    ("resolve", "resolved_on"),
    ("withdraw", "withdrawn_on"),
    ("refer_to_cafcass", "referred_on"),
]


@pytest.mark.parametrize(
    ("on", "words", "error"),
    [
        (D(2022, 10, 9), "before stage 2 began on 2022-10-10", BeforeCurrentStage),  # after raising, before the stage
        (D(2022, 10, 2), "before the escalation was raised on 2022-10-03", BeforeCurrentStage),
        (D(2022, 10, 21), "in the future", DateInFuture),  # the day after today
    ],
    ids=["before-stage", "before-raised", "future"],
)
@pytest.mark.parametrize(("action", "field"), DATE_FIELDS)
def test_an_action_dated_out_of_range_is_422_naming_the_field(action, field, on, words, error):
    with pytest.raises(error) as caught:
        perform(action, open_at(2), on=on)
    assert caught.value.status == 422
    assert caught.value.extras["errors"][0]["loc"] == ["body", field]
    assert words in caught.value.detail


@pytest.mark.parametrize("on", [ENTERED, TODAY], ids=["stage-began", "today"])
@pytest.mark.parametrize(("action", "field"), DATE_FIELDS)
def test_an_action_on_the_day_the_stage_began_or_today_is_accepted(action, field, on):
    assert perform(action, open_at(2), on=on) != open_at(2)


def test_a_conflict_is_reported_before_a_bad_date():
    with pytest.raises(StageAlreadyAnswered):
        respond(open_at(2, responded=True), D(2022, 10, 21), TODAY)
    with pytest.raises(EscalationNotOpen):
        resolve(STATES["withdrawn"], D(2022, 10, 1), TODAY)


# --- Scope, category and text -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "child_ids"),
    [
        ("child", ["c1"]),
        ("children", ["c1", "c2"]),
        ("children", ["c1", "c2", "c3"]),
        ("service", []),
    ],
)
def test_scope_with_the_right_children(scope, child_ids):
    assert check_scope(scope, child_ids) == tuple(child_ids)


@pytest.mark.parametrize(
    ("scope", "child_ids", "words"),
    [
        ("child", [], "exactly one"),
        ("child", ["c1", "c2"], "exactly one"),
        ("children", [], "two or more"),
        ("children", ["c1"], "two or more"),
        ("children", ["c1", "c1"], "distinct"),
        ("service", ["c1"], "no child ids"),
    ],
)
def test_wrong_counts_of_children_are_422_on_child_ids(scope, child_ids, words):
    with pytest.raises(ScopeMismatch) as caught:
        check_scope(scope, child_ids)
    assert caught.value.status == 422
    assert caught.value.extras["errors"][0]["loc"] == ["body", "child_ids"]
    assert words in caught.value.detail


def test_an_unknown_scope_is_422_on_scope():
    with pytest.raises(CodeNotOnList) as caught:
        check_scope("family", ["c1"])
    assert caught.value.extras["errors"][0]["loc"] == ["body", "scope"]
    assert caught.value.extras["valid"] == ["child", "children", "service"]


def test_default_categories_are_the_reference_list():
    categories = default_categories()
    assert len(categories) == 24
    assert categories[0] == "care_plan_not_completed"
    assert categories[-1] == "other"
    assert check_category("placement_stability", categories) == "placement_stability"


def test_an_unknown_category_is_422_listing_the_valid_ones():
    configured = ("permanence_delay", "placement_stability", "other")
    with pytest.raises(CodeNotOnList) as caught:
        check_category("care_plan_not_completed", configured)
    assert caught.value.status == 422
    assert caught.value.extras["errors"][0]["loc"] == ["body", "category"]
    assert caught.value.extras["valid"] == list(configured)
    assert "permanence_delay, placement_stability, other" in caught.value.detail


def test_text_is_stripped_and_blank_text_is_422():
    assert check_text("  Plan agreed.  ", "outcome") == "Plan agreed."
    with pytest.raises(TextRequired) as caught:
        check_text("   ", "reason")
    assert caught.value.extras["errors"][0]["loc"] == ["body", "reason"]
