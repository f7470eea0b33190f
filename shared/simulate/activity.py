"""The work IROs and the service do on the API around each held review: decisions and their
follow-up, record-keeping dates, participation detail, midway reviews, escalations up the ladder,
commendations, feedback forms and advocacy referrals; and a few escalations about several children
or the whole service. Drawn from random generators of their own (one per child, one for the
service), so the case-system world is the same with or without this activity.

Every date is on or before the world's last day (the platform refuses dates to come), inside the
child's care and before their 18th birthday, and after what it follows (a decision's due date after
the review, a stage's response after the stage began).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Literal

from shared.calendar import WorkingCalendar
from shared.simulate import timetable as tt
from shared.simulate.world import (
    ADVOCACY_PROVIDERS,
    ADVOCACY_REASONS,
    ANSWERS,
    COMMENDATIONS,
    DAY,
    DECISION_OWNERS,
    DECISION_TEXTS,
    ESCALATION_SUMMARIES,
    FEEDBACK_COMMENTS,
    TEAMS,
    Advocacy,
    CarePeriod,
    Child,
    Decision,
    Escalation,
    EscalationStep,
    Feedback,
    Midway,
    ParticipationDetail,
    Review,
    ReviewActivity,
    World,
    _between,
    weighted,
    working_on_or_after,
)

CATEGORIES = (
    "care_plan_not_completed",
    "permanence_delay",
    "drift_in_care_planning",
    "social_worker_availability",
    "placement_stability",
    "health_or_dental_overdue",
    "pep_not_up_to_date",
    "visits_not_undertaken",
    "multi_agency_working",
    "leaving_care_preparation",
    "working_with_parents",
)
"""Escalation categories the simulator uses: keys of the default list (escalation_categories.csv)."""

RESPONDERS = {
    0: "Team Manager (informal)",
    1: "Team Manager",
    2: "Service Manager",
    3: "Head of Service",
    4: "Assistant Director",
    5: "Director of Children's Services",
}
LAST_STAGE = 5  # the default ladder runs 0 (alert) to 5; `feed` stops at the configured ladder's top


def working_days_before(calendar: WorkingCalendar, day: dt.date, days: int) -> dt.date:
    counted = 0
    while counted < days:
        day -= DAY
        if calendar.is_working_day(day):
            counted += 1
    return day


def _clip(day: dt.date, last: dt.date) -> dt.date | None:
    return day if day <= last else None


def _decisions(rng: random.Random, held: dt.date, end: dt.date) -> list[Decision]:
    out: list[Decision] = []
    count = int(weighted(rng, [("0", 15), ("1", 40), ("2", 30), ("3", 15)]))
    for text in rng.sample(DECISION_TEXTS, count):
        decision = Decision(
            text=text, owner=rng.choice(DECISION_OWNERS), due_on=held + dt.timedelta(days=_between(rng, 10, 120))
        )
        follow_up = weighted(rng, [("done", 65), ("not_done", 10), ("superseded", 5), ("open", 20)])
        if follow_up == "done":
            completed = decision.due_on + dt.timedelta(days=_between(rng, -20, 20))
            completed = max(completed, held)
        else:
            completed = decision.due_on + dt.timedelta(days=_between(rng, 0, 30))
        if follow_up != "open" and completed <= end:
            decision.status = "done" if follow_up == "done" else "not_done" if follow_up == "not_done" else "superseded"
            decision.completed_on = completed
        out.append(decision)
    return out


def _record_keeping(
    rng: random.Random, calendar: WorkingCalendar, review: Review, period: CarePeriod, age: int, end: dt.date
) -> dict[str, dt.date]:
    held = review.held_on
    assert held is not None
    out: dict[str, dt.date] = {}
    if rng.random() < 0.9:
        received = working_days_before(calendar, held, _between(rng, 1, 10))
        out["sw_report_received_on"] = max(received, period.started_on)
    timings = (
        ("decisions_issued_on", 0.92, (1, 8)),
        ("record_issued_on", 0.85, (8, 30)),
        ("letter_to_child_sent_on", 0.55 if age >= tt.PN0_UNDER else 0.0, (5, 25)),
    )
    for name, share, (low, high) in timings:
        if rng.random() < share:
            day = _clip(tt.plus_working_days(calendar, held, _between(rng, low, high)), end)
            if day is not None:
                out[name] = day
    return out


def _participation_detail(rng: random.Random, child: Child, review: Review) -> ParticipationDetail:
    code = review.code or "PN7"
    methods: list[str] = []
    if code in ("PN1", "PN2", "PN3", "PN4"):
        methods.append(weighted(rng, [("in_person", 75), ("video", 20), ("phone", 5)]))
    if code in ("PN2", "PN5"):
        methods.append("advocate")
    if code == "PN6":
        methods.append(
            weighted(rng, [("consultation_form", 45), ("app", 20), ("phone", 20), ("text_or_social_media", 15)])
        )
    older = code != "PN0"
    if older and rng.random() < 0.4:
        methods.append("met_iro_before")
    parents: list[tuple[str, str]] = []
    for relationship in rng.sample(("mother", "father", "carer"), _between(rng, 0, 2)):
        participation = weighted(
            rng,
            [
                ("attended", 45),
                ("views_conveyed", 20),
                ("invited_did_not_attend", 25),
                ("not_invited", 5),
                ("not_appropriate", 5),
            ],
        )
        parents.append((relationship, participation))
    return ParticipationDetail(
        methods=methods,
        met_iro_before=("met_iro_before" in methods) if older else None,
        interpreter_used=(rng.random() < 0.4) if child.uasc else (False if rng.random() < 0.5 else None),
        parents=parents,
    )


def _ladder(rng: random.Random, escalation: Escalation, end: dt.date, last: dt.date) -> None:
    """The escalation's course: responses, moves up the ladder, and its close, while dates last."""
    stage = 0 if escalation.kind == "alert" else 1
    day = escalation.raised_on
    while True:
        if rng.random() < 0.85:
            day += dt.timedelta(days=_between(rng, 2, 16))
            if day > min(end, last):
                return
            escalation.steps.append(
                EscalationStep(
                    "respond", day, "The plan will be updated and shared within two weeks.", RESPONDERS[stage]
                )
            )
        if stage == 0:
            step = weighted(rng, [("resolve", 60), ("escalate", 30), ("withdraw", 10)])
        elif stage < LAST_STAGE:
            step = weighted(
                rng,
                [
                    ("resolve", 58),
                    ("escalate", 32 - 4 * stage),
                    ("withdraw", 5),
                    ("cafcass", 2 if stage >= 3 else 0),
                    ("open", 3),
                ],
            )
        else:
            step = weighted(rng, [("resolve", 85), ("cafcass", 10), ("withdraw", 5)])
        if step == "open":
            return
        day += dt.timedelta(days=_between(rng, 1, 10))
        if day > min(end, last):
            return
        texts = {
            "resolve": "The updated plan was shared and agreed.",
            "escalate": "No satisfactory response within the timescale.",
            "withdraw": "Resolved by the team before a response was due.",
            "cafcass": "The plan has drifted despite escalation to senior managers.",
        }
        action: Literal["escalate", "resolve", "withdraw", "cafcass"] = (
            "escalate"
            if step == "escalate"
            else "resolve"
            if step == "resolve"
            else "withdraw"
            if step == "withdraw"
            else "cafcass"
        )
        escalation.steps.append(EscalationStep(action, day, texts[step]))
        if action != "escalate":
            return
        stage += 1


def _feedback(rng: random.Random, age: int, held: dt.date, end: dt.date) -> list[Feedback]:
    out: list[Feedback] = []
    for _ in range(_between(rng, 1, 2)):
        received = held + dt.timedelta(days=_between(rng, 1, 25))
        if received > end:
            continue
        respondents = [
            ("parent", 20),
            ("carer", 30),
            ("social_worker", 15),
            ("supervising_social_worker", 8),
            ("guardian", 4),
            ("professional", 5),
        ]
        if age >= 8:
            respondents.append(("child", 40))
        questions = rng.sample(range(4), _between(rng, 1, 4))
        answers = {q: weighted(rng, [(ANSWERS[0], 60), (ANSWERS[1], 30), (ANSWERS[2], 10)]) for q in sorted(questions)}
        out.append(
            Feedback(
                respondent=weighted(rng, respondents),
                channel=weighted(
                    rng, [("paper", 30), ("online", 35), ("app", 10), ("phone", 10), ("face_to_face", 15)]
                ),
                answers=answers,
                comment=rng.choice(FEEDBACK_COMMENTS) if rng.random() < 0.35 else None,
                received_on=received,
                anonymous=rng.random() < 0.1,
            )
        )
    return out


def _review_activity(
    rng: random.Random, calendar: WorkingCalendar, world: World, child: Child, period: CarePeriod, index: int
) -> ReviewActivity:
    review = period.reviews[index]
    held = review.held_on
    assert held is not None and review.chair is not None
    end = world.end
    last_in_care = min(period.ended_on - DAY if period.ended_on else end, child.eighteenth_birthday - DAY, end)
    age = tt.age_on(child.date_of_birth, held)
    activity = ReviewActivity()
    activity.decisions = _decisions(rng, held, end)
    activity.record_keeping = _record_keeping(rng, calendar, review, period, age, end)
    if review.code_via == "api" or (review.code_via == "event" and rng.random() < 0.25):
        activity.participation = _participation_detail(rng, child, review)
    following = period.reviews[index + 1] if index + 1 < len(period.reviews) else None
    if following is not None and following.held_on is not None and rng.random() < 0.4:
        middle = held + dt.timedelta(days=(following.held_on - held).days // 2)
        middle = working_on_or_after(calendar, middle)
        if held < middle < following.held_on:
            outcome = weighted(rng, [("on_track", 75), ("concerns", 20), ("escalated", 5)])
            activity.midway = Midway(
                held_on=middle,
                outcome="on_track" if outcome == "on_track" else "concerns" if outcome == "concerns" else "escalated",
                note="Checked the care plan's progress between reviews.",
            )
    if rng.random() < 0.06:
        raised = held + dt.timedelta(days=_between(rng, 3, 40))
        if raised <= last_in_care:
            escalation = Escalation(
                key=f"{child.la_reference}-{period.started_on.isoformat()}-{review.sequence}",
                kind="alert" if rng.random() < 0.65 else "formal",
                scope="child",
                la_references=[child.la_reference],
                category=rng.choice(CATEGORIES),
                team=rng.choice(TEAMS),
                summary=rng.choice(ESCALATION_SUMMARIES),
                raised_on=raised,
                iro=child.iro_on(raised) or review.chair,
            )
            _ladder(rng, escalation, end, child.eighteenth_birthday - DAY)
            activity.escalation = escalation
    if rng.random() < 0.03:
        raised = held + dt.timedelta(days=_between(rng, 1, 30))
        if raised <= end:
            activity.commendation = (raised, rng.choice(TEAMS), rng.choice(COMMENDATIONS))
    if rng.random() < 0.18:
        activity.feedback = _feedback(rng, age, held, end)
    if age >= 5 and rng.random() < 0.04:
        referred = held + dt.timedelta(days=_between(rng, 0, 20))
        if referred <= last_in_care:
            outcome_on = referred + dt.timedelta(days=_between(rng, 10, 60))
            with_outcome = rng.random() < 0.6 and outcome_on <= end
            activity.advocacy = Advocacy(
                referred_on=referred,
                provider=rng.choice(ADVOCACY_PROVIDERS),
                reason=rng.choice(ADVOCACY_REASONS),
                outcome="An advocate met the child and went to the review with them." if with_outcome else None,
                outcome_on=outcome_on if with_outcome else None,
            )
    return activity


def _looked_after_on(world: World, day: dt.date) -> list[Child]:
    return [
        child
        for child in world.children
        if day < child.eighteenth_birthday and any(p.contains(day) for p in child.periods)
    ]


def _collective(rng: random.Random, world: World) -> list[Escalation]:
    """A few alerts about several children of one IRO, or about the whole service."""
    out: list[Escalation] = []
    span = (world.end - world.start).days
    count = max(1, round(len(world.children) * world.options.years / 150))
    for number in range(count):
        raised = world.start + dt.timedelta(days=_between(rng, 30, max(30, span)))
        if raised > world.end:
            continue
        iro = rng.choice(world.iros).key
        scope: Literal["children", "service"] = "service" if rng.random() < 0.35 else "children"
        named: list[str] = []
        if scope == "children":
            mine = [c for c in _looked_after_on(world, raised) if c.iro_on(raised) == iro]
            if len(mine) < 2:
                continue
            named = [c.la_reference for c in rng.sample(mine, min(len(mine), _between(rng, 2, 4)))]
        escalation = Escalation(
            key=f"collective-{number + 1}",
            kind="alert",
            scope=scope,
            la_references=named,
            category=rng.choice(("social_worker_availability", "visits_not_undertaken", "multi_agency_working")),
            team=rng.choice(TEAMS),
            summary="Several children have had no allocated social worker for a month.",
            raised_on=raised,
            iro=iro,
        )
        last = min([world.end, *[c.eighteenth_birthday - DAY for c in world.children if c.la_reference in named]])
        _ladder(rng, escalation, world.end, last)
        out.append(escalation)
    return out


def plan_activity(world: World, calendar: WorkingCalendar) -> None:
    """Fill in every held review's `activity`, and the world's collective escalations."""
    for child in world.children:
        rng = random.Random(f"iro-simulate:{world.options.seed}:activity:{child.index}")
        for period in child.periods:
            for index, review in enumerate(period.reviews):
                if review.held_on is not None:
                    review.activity = _review_activity(rng, calendar, world, child, period, index)
    world.escalations = _collective(random.Random(f"iro-simulate:{world.options.seed}:service"), world)


def held_reviews(children: Sequence[Child]) -> list[tuple[Child, CarePeriod, Review]]:
    return [
        (child, period, review)
        for child in children
        for period in child.periods
        for review in period.reviews
        if review.held_on is not None
    ]
