"""The dispute resolution process as a pure state machine (DESIGN brief 2.4).

An informal alert is stage 0 of a configurable ladder; a formal escalation starts at stage 1 and
climbs one stage at a time. Each stage has a response window in working days. The IRO may resolve,
withdraw or refer to Cafcass (Children Act 1989 s25B(3)) from any open state. No I/O here: every
function takes the current state and the action's date and returns the new state or raises a
domain error (`services.escalations.errors`, `shared.errors`): 409 for a wrong state, 422 naming a
bad field by its name only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from services.escalations.errors import (
    BeforeCurrentStage,
    EscalationAtLastStage,
    EscalationNotOpen,
    ScopeMismatch,
    StageAlreadyAnswered,
)
from shared import reference
from shared.calendar import WorkingCalendar
from shared.errors import CodeNotOnList, DateInFuture, TextRequired
from shared.logic import PYTHON, Logic

__all__ = [
    "ACTIONS",
    "FIRST_FORMAL_STAGE",
    "INFORMAL_STAGE",
    "Action",
    "EscalationState",
    "Kind",
    "Ladder",
    "Scope",
    "Stage",
    "Status",
    "allowed_actions",
    "check_category",
    "check_not_future",
    "check_scope",
    "check_text",
    "current_response_due_on",
    "default_categories",
    "escalate",
    "is_overdue",
    "is_stage_overdue",
    "raise_escalation",
    "refer_to_cafcass",
    "resolve",
    "respond",
    "response_due_on",
    "withdraw",
    "working_days_to_resolution",
]

INFORMAL_STAGE = 0
FIRST_FORMAL_STAGE = 1

_H = TypeVar("_H", bound=Hashable)


class Status(StrEnum):
    """Where an escalation stands (brief 2.4: open, then resolved, withdrawn or referred to Cafcass)."""

    OPEN = "open"
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"
    REFERRED_TO_CAFCASS = "referred_to_cafcass"


class Kind(StrEnum):
    """How an escalation is raised (brief 2.4: an informal alert at stage 0, or formal at stage 1)."""

    ALERT = "alert"
    FORMAL = "formal"


class Scope(StrEnum):
    """Whom an escalation concerns (brief 2.4: one child, two or more children, or the service)."""

    CHILD = "child"
    CHILDREN = "children"
    SERVICE = "service"


class Action(StrEnum):
    """What can be done to an open escalation (brief 2.4)."""

    RESPOND = "respond"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    WITHDRAW = "withdraw"
    REFER_TO_CAFCASS = "refer_to_cafcass"


ACTIONS: tuple[Action, ...] = tuple(Action)


# --- The ladder ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stage:
    """One rung of the ladder: its number, addressee and response window (escalation_stages.csv)."""

    stage: int
    name: str
    response_working_days: int


@dataclass(frozen=True, slots=True)
class Ladder:
    """The configured stages, 0 (informal alert) to `last`, contiguous (brief 2.4: a setting)."""

    stages: tuple[Stage, ...]

    def __post_init__(self) -> None:
        numbers = [s.stage for s in self.stages]
        if numbers != list(range(len(numbers))):
            raise ValueError(f"The escalation ladder must be stages 0, 1, 2, ... in order; got {numbers}.")
        if len(numbers) <= FIRST_FORMAL_STAGE:
            raise ValueError("The escalation ladder needs stage 0 (informal alert) and at least stage 1.")
        for s in self.stages:
            if not s.name.strip():
                raise ValueError(f"Escalation stage {s.stage} has no name.")
            if s.response_working_days < 1:
                raise ValueError(f"Escalation stage {s.stage} must allow at least one working day.")

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str | int]]) -> Ladder:
        """A ladder from rows with `stage`, `name`, `response_working_days` (the reference CSV shape)."""
        stages = [Stage(int(row["stage"]), str(row["name"]).strip(), int(row["response_working_days"])) for row in rows]
        return cls(tuple(sorted(stages, key=lambda s: s.stage)))

    @classmethod
    def default(cls) -> Ladder:
        """The default ladder of reference/escalation_stages.csv (stages 0 to 5, 10 working days each)."""
        return cls.from_rows(reference.rows("escalation_stages"))

    @property
    def first_formal(self) -> int:
        """The stage a formal escalation starts at (brief 2.4: 1)."""
        return FIRST_FORMAL_STAGE

    @property
    def last(self) -> int:
        """The number of the top stage; escalating beyond it is refused."""
        return self.stages[-1].stage

    def get(self, stage: int) -> Stage:
        """The stage numbered `stage` (KeyError when the ladder has no such stage)."""
        if 0 <= stage < len(self.stages):
            return self.stages[stage]
        raise KeyError(f"The escalation ladder has no stage {stage} (it runs 0 to {self.last}).")

    def up_to(self, last: int) -> Ladder:
        """This ladder cut at stage `last` (brief 2.4: an authority with four formal stages runs 0-4)."""
        return Ladder(tuple(s for s in self.stages if s.stage <= last))

    def label(self, stage: int) -> str:
        """`stage 2 (Service Manager)`, or `stage 7` for a stage this ladder does not have."""
        if 0 <= stage < len(self.stages):
            return f"stage {stage} ({self.stages[stage].name})"
        return f"stage {stage}"


# --- Field checks -------------------------------------------------------------------------------


def default_categories() -> tuple[str, ...]:
    """The category keys of reference/escalation_categories.csv, in file order."""
    return tuple(row["key"] for row in reference.rows("escalation_categories"))


def check_category(category: str, categories: Sequence[str]) -> str:
    """The category if configured, else 422 on `category` listing the valid keys (brief 2.4)."""
    if category in categories:
        return category
    raise CodeNotOnList(
        f"Unknown category {category!r}; valid categories are: {', '.join(categories)}.",
        field="category",
        valid=categories,
    )


def check_scope(scope: str, child_ids: Sequence[_H]) -> tuple[_H, ...]:
    """The child ids if they fit the scope (child: one; children: two or more distinct; service: none)."""
    try:
        kind = Scope(scope)
    except ValueError:
        valid = [s.value for s in Scope]
        raise CodeNotOnList(
            f"Unknown scope {scope!r}; valid scopes are: {', '.join(valid)}.", field="scope", valid=valid
        ) from None
    ids = tuple(child_ids)
    if kind is Scope.CHILD and len(ids) != 1:
        raise ScopeMismatch(f"Scope 'child' needs exactly one child id; got {len(ids)}.")
    if kind is Scope.CHILDREN:
        if len(ids) < 2:
            raise ScopeMismatch(f"Scope 'children' needs two or more child ids; got {len(ids)}.")
        if len(set(ids)) != len(ids):
            raise ScopeMismatch("Scope 'children' needs distinct child ids; some are repeated.")
    if kind is Scope.SERVICE and ids:
        raise ScopeMismatch(f"Scope 'service' takes no child ids; got {len(ids)}.")
    return ids


def check_text(value: str, field: str) -> str:
    """The text stripped, or 422 on `field` when blank (outcome, reason, response text)."""
    text = value.strip()
    if not text:
        raise TextRequired(f"{field} must not be blank.", field=field)
    return text


def _check_kind(kind: str) -> Kind:
    try:
        return Kind(kind)
    except ValueError:
        valid = [k.value for k in Kind]
        raise CodeNotOnList(
            f"Unknown kind {kind!r}; valid kinds are: {', '.join(valid)}.", field="kind", valid=valid
        ) from None


def _check_not_future(day: dt.date, today: dt.date, field: str) -> None:
    if day > today:
        raise DateInFuture(f"{field} {day.isoformat()} is in the future (today is {today}).", field=field)


def check_not_future(day: dt.date, today: dt.date, field: str) -> dt.date:
    """The date, or 422 on `field` when it is after today (a commendation's date, say)."""
    _check_not_future(day, today, field)
    return day


# --- Dates --------------------------------------------------------------------------------------


def response_due_on(calendar: WorkingCalendar, entered_on: dt.date, stage: Stage) -> dt.date:
    """entered_on plus the stage's response working days on the working calendar (brief 2.4)."""
    return calendar.add_working_days(entered_on, stage.response_working_days)


def is_stage_overdue(*, is_open: Any, responded: Any, response_due_on: Any, today: Any, logic: Logic = PYTHON) -> Any:
    """Overdue: unanswered, the escalation open, and today after the due day (brief 2.4: "unanswered
    stages go overdue"). The one rule: the read model calls it with values, the `overdue` filter and
    `overdue_now` with columns (`logic.SQL`)."""
    return logic.all(is_open, logic.not_(responded), logic.before(response_due_on, today))


def working_days_to_resolution(calendar: WorkingCalendar, raised_on: dt.date, resolved_on: dt.date) -> int:
    """Working days from raising to resolution, for the statistics (brief 2.4)."""
    return calendar.working_days_between(raised_on, resolved_on)


# --- The state machine --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EscalationState:
    """What the rules need of an escalation: status, current stage and its dates (brief 2.4)."""

    status: Status
    stage: int
    raised_on: dt.date
    stage_entered_on: dt.date
    responded: bool
    raised_as_alert: bool
    closed_on: dt.date | None = None

    @property
    def is_open(self) -> bool:
        """Open: not resolved, withdrawn or referred to Cafcass."""
        return self.status is Status.OPEN

    @property
    def kind(self) -> Kind:
        """Alert while at stage 0, formal from stage 1 (an escalated alert is formal)."""
        return Kind.ALERT if self.stage == INFORMAL_STAGE else Kind.FORMAL


def current_response_due_on(state: EscalationState, ladder: Ladder, calendar: WorkingCalendar) -> dt.date:
    """The response due day of the state's current stage (brief 2.4)."""
    return response_due_on(calendar, state.stage_entered_on, ladder.get(state.stage))


def is_overdue(state: EscalationState, response_due_on: dt.date, today: dt.date) -> bool:
    """Whether the current stage is overdue as of `today` (the due day itself is not; brief 2.4)."""
    overdue: bool = is_stage_overdue(
        is_open=state.is_open, responded=state.responded, response_due_on=response_due_on, today=today
    )
    return overdue


def allowed_actions(state: EscalationState, ladder: Ladder) -> frozenset[Action]:
    """The actions the state allows now (brief 2.4); none once closed."""
    if not state.is_open:
        return frozenset()
    allowed = {Action.RESOLVE, Action.WITHDRAW, Action.REFER_TO_CAFCASS}
    if not state.responded:
        allowed.add(Action.RESPOND)
    if state.stage < ladder.last:
        allowed.add(Action.ESCALATE)
    return frozenset(allowed)


def raise_escalation(
    kind: str, raised_on: dt.date, today: dt.date, ladder: Ladder, calendar: WorkingCalendar
) -> tuple[EscalationState, dt.date]:
    """A new open escalation (alert at stage 0, formal at stage 1) and its first response due day."""
    which = _check_kind(kind)
    _check_not_future(raised_on, today, "raised_on")
    stage = INFORMAL_STAGE if which is Kind.ALERT else ladder.first_formal
    state = EscalationState(
        status=Status.OPEN,
        stage=stage,
        raised_on=raised_on,
        stage_entered_on=raised_on,
        responded=False,
        raised_as_alert=which is Kind.ALERT,
    )
    return state, response_due_on(calendar, raised_on, ladder.get(stage))


def _require_open(state: EscalationState, verb: str) -> None:
    if not state.is_open:
        raise EscalationNotOpen(
            f"Cannot {verb}: the escalation is already {_closed_words(state.status)}.",
            current_state=state.status.value,
            stage=state.stage,
        )


def _closed_words(status: Status) -> str:
    return "referred to Cafcass" if status is Status.REFERRED_TO_CAFCASS else status.value


def _check_action_date(state: EscalationState, day: dt.date, today: dt.date, field: str) -> None:
    if day < state.raised_on:
        raise BeforeCurrentStage(
            f"{field} {day.isoformat()} is before the escalation was raised on {state.raised_on}.", field=field
        )
    if day < state.stage_entered_on:
        raise BeforeCurrentStage(
            f"{field} {day.isoformat()} is before stage {state.stage} began on {state.stage_entered_on}.", field=field
        )
    _check_not_future(day, today, field)


def respond(state: EscalationState, responded_on: dt.date, today: dt.date) -> EscalationState:
    """Record the addressee's response to the current stage: once per stage, while open (brief 2.4)."""
    _require_open(state, "respond")
    if state.responded:
        raise StageAlreadyAnswered(
            f"Cannot respond: stage {state.stage} has already been answered.",
            current_state=state.status.value,
            stage=state.stage,
        )
    _check_action_date(state, responded_on, today, "responded_on")
    return dataclasses.replace(state, responded=True)


def escalate(state: EscalationState, escalated_on: dt.date, today: dt.date, ladder: Ladder) -> EscalationState:
    """Move up to the next stage, answered or not; an alert becomes formal at stage 1 (brief 2.4)."""
    _require_open(state, "escalate")
    if state.stage >= ladder.last:
        raise EscalationAtLastStage(
            f"Cannot escalate: {ladder.label(state.stage)} is the last stage of the ladder.",
            current_state=state.status.value,
            stage=state.stage,
        )
    _check_action_date(state, escalated_on, today, "escalated_on")
    return dataclasses.replace(state, stage=state.stage + 1, stage_entered_on=escalated_on, responded=False)


def _close(state: EscalationState, status: Status, day: dt.date, today: dt.date, field: str) -> EscalationState:
    _check_action_date(state, day, today, field)
    return dataclasses.replace(state, status=status, closed_on=day)


def resolve(state: EscalationState, resolved_on: dt.date, today: dt.date) -> EscalationState:
    """The IRO is satisfied: close as resolved, from any open stage (brief 2.4)."""
    _require_open(state, "resolve")
    return _close(state, Status.RESOLVED, resolved_on, today, "resolved_on")


def withdraw(state: EscalationState, withdrawn_on: dt.date, today: dt.date) -> EscalationState:
    """The IRO withdraws the escalation (with a reason, kept by the caller) while open (brief 2.4)."""
    _require_open(state, "withdraw")
    return _close(state, Status.WITHDRAWN, withdrawn_on, today, "withdrawn_on")


def refer_to_cafcass(state: EscalationState, referred_on: dt.date, today: dt.date) -> EscalationState:
    """Refer to Cafcass under Children Act 1989 s25B(3): any open state, not a rung (brief 2.4)."""
    _require_open(state, "refer to Cafcass")
    return _close(state, Status.REFERRED_TO_CAFCASS, referred_on, today, "referred_on")
