"""The simulated world: children, their care periods, reviews and everything around them, generated
from a seed. Pure and deterministic: the same `Options` give the same world, to the byte.

Each child is drawn from a random generator of its own (seeded by the seed and the child's number),
and the IROs' and children's work on the API from another (`activity.py`), so a child's world does
not change with the number of children asked for, nor with `--no-api-activity`.

The review timetable comes from `shared.simulate.timetable`, the simulator's own reading of the
regulations (DESIGN.md 2.1), never from the platform's rules.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from shared import reference
from shared.calendar import WorkingCalendar
from shared.simulate import timetable as tt

DAY = dt.timedelta(days=1)

Sex = Literal["male", "female", "other", "unknown"]
Via = Literal["event", "api"]


@dataclass(frozen=True)
class Options:
    """What to generate: `children` and `iros` over the `years` ending the day before `today`."""

    children: int
    iros: int
    years: int
    seed: int
    today: dt.date
    closure_days: tuple[dt.date, ...] = ()

    def __post_init__(self) -> None:
        if self.children < 1 or self.iros < 1 or self.years < 1:
            raise ValueError("children, iros and years must each be at least 1")

    @property
    def end(self) -> dt.date:
        """The last day of the world: yesterday (the platform refuses dates after its today)."""
        return self.today - DAY

    @property
    def start(self) -> dt.date:
        """The first day of the world: `years` years before the day after `end`."""
        return tt.plus_months(self.end, -12 * self.years) + DAY


# --- The world's facts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Iro:
    key: str
    name: str
    email: str
    fte: Decimal


@dataclass
class Decision:
    text: str
    owner: str
    due_on: dt.date
    status: Literal["done", "not_done", "superseded"] | None = None  # its follow-up, if any
    completed_on: dt.date | None = None


@dataclass
class Midway:
    held_on: dt.date
    outcome: Literal["on_track", "concerns", "escalated"]
    note: str


@dataclass
class EscalationStep:
    action: Literal["respond", "escalate", "resolve", "withdraw", "cafcass"]
    on: dt.date
    text: str
    responder: str = ""


@dataclass
class Escalation:
    key: str
    kind: Literal["alert", "formal"]
    scope: Literal["child", "children", "service"]
    la_references: list[str]
    category: str
    team: str
    summary: str
    raised_on: dt.date
    iro: str  # the IRO raising it and recording its course
    steps: list[EscalationStep] = field(default_factory=list)


@dataclass
class Feedback:
    respondent: str
    channel: str
    answers: dict[int, str]  # question number (into the platform's configured set) to the answer
    comment: str | None
    received_on: dt.date
    anonymous: bool


@dataclass
class Advocacy:
    referred_on: dt.date
    provider: str
    reason: str
    outcome: str | None
    outcome_on: dt.date | None


@dataclass
class ParticipationDetail:
    methods: list[str]
    met_iro_before: bool | None
    interpreter_used: bool | None
    parents: list[tuple[str, str]]


@dataclass
class ReviewActivity:
    """What the IRO and the service do on the API about one held review."""

    decisions: list[Decision] = field(default_factory=list)
    record_keeping: dict[str, dt.date] = field(default_factory=dict)
    participation: ParticipationDetail | None = None
    midway: Midway | None = None
    escalation: Escalation | None = None
    commendation: tuple[dt.date, str, str] | None = None  # raised_on, team, summary
    feedback: list[Feedback] = field(default_factory=list)
    advocacy: Advocacy | None = None


@dataclass
class Review:
    sequence: int
    statutory_due_on: dt.date
    held_on: dt.date | None = None
    chair: str | None = None  # the IRO allocated on the day it was held
    format: Literal["in_person", "virtual", "hybrid"] | None = None
    late_reason: str | None = None
    late_reason_detail: str | None = None
    code: str | None = None  # the participation code (PN0-PN7), when it is ever coded
    code_via: Via | None = None  # sent with `review.held`, or put on the API afterwards
    closed: Literal["missed", "cancelled"] | None = None  # unheld when the child left care
    closed_on: dt.date | None = None
    activity: ReviewActivity | None = None
    judged: bool = True  # False only for the first review of a period that began before a return's data

    @property
    def in_time(self) -> bool | None:
        """Held by the statutory due date; None while unheld, or when its timeliness is not judged."""
        if self.held_on is None or not self.judged:
            return None
        return tt.in_time(self.held_on, self.statutory_due_on)

    @property
    def kind(self) -> Literal["first", "second", "subsequent"]:
        return "first" if self.sequence == 1 else "second" if self.sequence == 2 else "subsequent"


@dataclass
class CarePeriod:
    started_on: dt.date
    legal_status: str  # the legal status it started with
    placement_type: str
    short_break: bool
    ended_on: dt.date | None = None  # None: still looked after at the end of the world
    reason: str | None = None  # the 903 reason episode ceased
    legal_status_changes: list[tuple[dt.date, str]] = field(default_factory=list)
    placement_changes: list[tuple[dt.date, str, bool]] = field(default_factory=list)  # day, code, unplanned
    reviews: list[Review] = field(default_factory=list)
    started_before_data: bool = False  # only in a world rebuilt from SSDA903 returns (`ssda903.imported`)

    def contains(self, day: dt.date) -> bool:
        return self.started_on <= day and (self.ended_on is None or day < self.ended_on)


@dataclass
class CaseNote:
    recorded_on: dt.date
    iro: str
    kind: str
    text: str


@dataclass
class Correction:
    on: dt.date
    changes: dict[str, str]  # the `child.updated` fields (dates as ISO text)


@dataclass
class Child:
    index: int
    la_reference: str
    date_of_birth: dt.date  # the true one (what the platform holds once any correction is in)
    registered_date_of_birth: dt.date  # what the case system first sent (rarely wrong)
    display_name: str
    sex: Sex
    uasc: bool | None
    registered_on: dt.date
    periods: list[CarePeriod] = field(default_factory=list)
    allocations: list[tuple[dt.date, str]] = field(default_factory=list)  # from that day, that IRO
    case_notes: list[CaseNote] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)

    @property
    def eighteenth_birthday(self) -> dt.date:
        return tt.eighteenth_birthday(self.date_of_birth)

    def iro_on(self, day: dt.date) -> str | None:
        current = None
        for since, iro in self.allocations:
            if since <= day:
                current = iro
        return current

    def reviews(self) -> list[Review]:
        return [review for period in self.periods for review in period.reviews]


@dataclass
class World:
    options: Options
    iros: list[Iro]
    children: list[Child]
    escalations: list[Escalation] = field(default_factory=list)  # the ones about several children or none

    @property
    def start(self) -> dt.date:
        return self.options.start

    @property
    def end(self) -> dt.date:
        return self.options.end


# --- Drawing --------------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "female": _words(
        "Amelia Olivia Isla Ava Mia Ivy Lily Freya Aisha Zara Grace Ruby Chloe Maya Nia Ella Poppy Hana Leah Sofia "
        "Jade Esme Kayla Aaliyah"
    ),
    "male": _words(
        "Oliver Noah Leo Jack Harry Muhammad Oscar George Charlie Jacob Kai Tyler Callum Jayden Reuben Ethan Dylan "
        "Ali Kofi Mason Tomasz Riley Ahmed Samuel"
    ),
}
SPELLING_FIXES: dict[str, str] = dict(
    pair.split(">")
    for pair in _words(
        "Aaliyah>Aliyah Jayden>Jaden Sofia>Sophia Muhammad>Mohammed Hana>Hannah Leah>Lea Kayla>Kaela "
        "Tomasz>Tomas Reuben>Ruben Esme>Esmé"
    )
)
"""Names a case system spelt one way at registration and corrected later (`child.updated`)."""
IRO_FIRST = _words(
    "Alice Bilal Catherine David Eleanor Femi Gemma Hugh Imran Joanne Kwame Louise Marcus Nadia Owen Priya Rachel "
    "Simon Tanya Usha Victor Wendy"
)
IRO_LAST = _words(
    "Adams Begum Clarke Davies Evans Francis Green Hughes Iqbal Jones Khan Lewis Mensah Nowak Okafor Patel Quinn "
    "Roberts Shah Taylor Walker Young"
)

TEAMS = (
    "Children in Care Team 1",
    "Children in Care Team 2",
    "Children in Care Team 3",
    "Leaving Care Team",
    "Disabled Children Team",
    "Assessment and Intervention Team",
)
DECISION_OWNERS = (
    "Social worker",
    "Team manager",
    "Foster carer",
    "Virtual School",
    "Health (LAC nurse)",
    "Residential key worker",
    "Personal adviser",
    "IRO",
)
DECISION_TEXTS = (
    "Update the care plan to reflect the placement and contact arrangements.",
    "Arrange the annual health assessment and a dental check.",
    "Review the personal education plan with the designated teacher.",
    "Start life-story work with the child.",
    "Complete the Strengths and Difficulties Questionnaire.",
    "Agree sibling contact and put it in writing to the child.",
    "Refer to CAMHS for an assessment.",
    "Complete the pathway plan with the child and their personal adviser.",
    "Confirm the permanence plan at the next permanence panel.",
    "Support the child to take part in an activity of their choice.",
)
CASE_NOTE_KINDS = (
    ("contact", "Spoke to the carer: the child is settled and attending school."),
    ("contact", "Spoke to the child by phone ahead of the review."),
    ("visit", "Visited the child at the placement; the child shared their wishes about contact."),
    ("tracking", "Care plan tracking: actions from the last review are progressing."),
    ("tracking", "Care plan tracking: the health assessment is overdue; reminded the social worker."),
    ("consultation", "Consultation form sent to the child and the carer."),
    ("review_preparation", "Social worker's report received; review invitations sent."),
)
LATE_REASONS: tuple[tuple[str, int], ...] = (
    ("late_notification", 14),
    ("child_missing", 6),
    ("key_people_unavailable", 34),
    ("insufficient_information", 12),
    ("iro_unavailable", 22),
    ("recording_error", 6),
    ("other", 6),
)
FIRST_REVIEW_LATE_REASONS: tuple[tuple[str, int], ...] = (("late_notification", 40), *LATE_REASONS[1:])
OTHER_LATE_DETAILS = (
    "The court hearing was moved to the review date.",
    "The placement ended the day before the review and it was rearranged.",
    "A family bereavement: the child asked for the review to be moved.",
)
ESCALATION_SUMMARIES = (
    "The care plan has not been updated since the placement move.",
    "Review decisions from the last review have not been progressed.",
    "The child has had no allocated social worker for six weeks.",
    "The health assessment is overdue and no date has been set.",
    "The personal education plan is out of date.",
    "Sibling contact agreed at the review has not happened.",
)
COMMENDATIONS = (
    "The social worker's report captured the child's voice exceptionally well.",
    "The foster carers' advocacy for the child's education was outstanding.",
    "The team arranged the review around the child's exams at short notice.",
)
ADVOCACY_PROVIDERS = ("Coram Voice", "NYAS", "Barnardo's", "The Children's Society")
ADVOCACY_REASONS = (
    "Wants help to say what they want about contact.",
    "Unhappy with the placement.",
    "Wants support to take part in the review.",
    "Wants to make a complaint.",
)
FEEDBACK_COMMENTS = (
    "I liked having the meeting at school.",
    "It was too long.",
    "My IRO listened to me.",
    "I did not know everyone in the meeting.",
    "Thank you for the letter.",
)
ANSWERS = ("always", "sometimes", "never")


def weighted(rng: random.Random, choices: Sequence[tuple[str, float]]) -> str:
    total = sum(weight for _, weight in choices)
    point = rng.random() * total
    for value, weight in choices:
        point -= weight
        if point < 0:
            return value
    return choices[-1][0]


def _between(rng: random.Random, low: int, high: int) -> int:
    """A whole number from `low` to `high`, both included."""
    return rng.randint(low, high) if high > low else low


def working_on_or_before(calendar: WorkingCalendar, day: dt.date) -> dt.date:
    while not calendar.is_working_day(day):
        day -= DAY
    return day


def working_on_or_after(calendar: WorkingCalendar, day: dt.date) -> dt.date:
    while not calendar.is_working_day(day):
        day += DAY
    return day


# --- IROs -----------------------------------------------------------------------------------------


def make_iros(options: Options) -> list[Iro]:
    rng = random.Random(f"iro-simulate:{options.seed}:iros")
    out: list[Iro] = []
    used: set[tuple[str, str]] = set()
    for number in range(options.iros):
        first, last = rng.choice(IRO_FIRST), rng.choice(IRO_LAST)
        while (first, last) in used and len(used) < len(IRO_FIRST) * len(IRO_LAST):
            first, last = rng.choice(IRO_FIRST), rng.choice(IRO_LAST)
        used.add((first, last))
        suffix = "" if number < len(IRO_FIRST) * len(IRO_LAST) else str(number)
        email = f"{first}.{last}{suffix}@sim{options.seed}.council.gov.uk".lower()
        fte = Decimal(weighted(rng, [("1.0", 70), ("0.8", 15), ("0.6", 10), ("0.5", 5)]))
        out.append(Iro(key=f"iro{number + 1:03d}", name=f"{first} {last}", email=email, fte=fte))
    return out


def _pick_iro(rng: random.Random, iros: Sequence[Iro], not_this: str | None = None) -> str:
    pool = [(iro.key, float(iro.fte)) for iro in iros if iro.key != not_this] or [(iros[0].key, 1.0)]
    return weighted(rng, pool)


# --- A child's care ---------------------------------------------------------------------------------


def _placement(rng: random.Random, day: dt.date, age: int, legal_status: str, current: str | None = None) -> str:
    """A placement type in use on `day` (placement_type_codes.csv) that suits the child's age."""
    if legal_status == "E1":
        wants = [("A5", 45.0), ("A6", 45.0), ("U5", 10.0)]
    elif legal_status in tt.SHORT_BREAK_STATUSES:
        wants = [("U6", 50.0), ("K2", 35.0), ("R1", 15.0)]
    elif age < 2:
        wants = [("U6", 50.0), ("U3", 15.0), ("U4", 10.0), ("U5", 8.0), ("R3", 6.0), ("P1", 5.0)]
    elif age < 10:
        wants = [("U6", 40.0), ("U4", 20.0), ("U3", 12.0), ("U1", 8.0), ("P1", 5.0), ("K2", 3.0)]
    elif age < 16:
        wants = [
            ("U6", 30.0),
            ("U4", 18.0),
            ("K2", 20.0),
            ("U3", 8.0),
            ("U1", 5.0),
            ("P1", 5.0),
            ("S1", 3.0),
            ("R1", 2.0),
            ("K1", 1.0),
        ]
    else:
        wants = [
            ("U4", 20.0),
            ("U6", 15.0),
            ("K2", 15.0),
            ("H5", 20.0),
            ("K3", 20.0),
            ("P2", 5.0),
            ("U3", 5.0),
            ("R5", 1.0),
        ]
    in_use = set(reference.placement_types_on(day))
    pool = [(code, weight) for code, weight in wants if code in in_use and code != current]
    if not pool:
        pool = [(code, 1.0) for code in ("U6", "U4", "K2") if code in in_use and code != current]
    return weighted(rng, pool)


def _initial_legal_status(rng: random.Random, age: int) -> str:
    choices = [("V2", 36.0), ("C1", 40.0), ("C2", 5.0), ("L1", 4.0), ("L2", 4.0)]
    if age >= 10:
        choices += [("J1", 2.0), ("J2", 3.0)]
    return weighted(rng, choices)


def _exit_reason(rng: random.Random, legal_status: str, age: int, uasc: bool | None) -> str:
    if legal_status in tt.SHORT_BREAK_STATUSES:
        return weighted(rng, [("E8", 70), ("E4A", 30)])
    if legal_status == "E1":
        return weighted(rng, [("E11", 50), ("E12", 45), ("E8", 5)])
    if legal_status == "J1":
        return weighted(rng, [("E14", 75), ("E9", 25)])
    if legal_status == "J2":
        return weighted(rng, [("E8", 60), ("E4A", 40)])
    choices = [("E4A", 30.0), ("E4B", 6.0), ("E13", 8.0), ("E41", 8.0), ("E3", 5.0), ("E8", 8.0)]
    if legal_status in ("C1", "C2"):
        choices += [("E45", 8.0), ("E46", 3.0), ("E47", 10.0), ("E48", 3.0)]
    if age >= 16:
        choices += [("E5", 12.0), ("E6", 4.0)]
    if uasc:
        choices += [("E15", 3.0), ("E16", 3.0)]
    else:
        choices += [("E16", 1.0)]
    return weighted(rng, choices)


AGE_OUT_REASONS: tuple[tuple[str, float], ...] = (("E17", 30), ("E5", 35), ("E6", 15), ("E8", 20))
NO_RETURN = frozenset({"E11", "E12", "E15", "E16", "E17", "E5", "E6", "E2"})


def _period(
    rng: random.Random,
    options: Options,
    child: Child,
    started_on: dt.date,
    short_break: bool,
) -> CarePeriod:
    """One care period from `started_on`: its legal statuses, placements and exit (or none, when the
    child is still looked after at the end of the world)."""
    dob = child.date_of_birth
    cutoff = child.eighteenth_birthday
    age = tt.age_on(dob, started_on)
    status = rng.choice(("V3", "V4")) if short_break else _initial_legal_status(rng, age)
    period = CarePeriod(
        started_on=started_on,
        legal_status=status,
        placement_type=_placement(rng, started_on, age, status),
        short_break=short_break,
    )
    length = weighted(rng, [("short", 28), ("medium", 30), ("long", 42)])
    days = {"short": (14, 180), "medium": (181, 730), "long": (731, 4000)}[length]
    exit_on = started_on + dt.timedelta(days=_between(rng, *days))
    reason: str | None = None

    # The legal status's course (SSDA903 LS): police protection and remand are short; interim care
    # orders become full ones; a young child's care order may lead to a placement order and adoption.
    day = started_on
    if status in ("L1", "L2"):
        day += dt.timedelta(days=_between(rng, 1, 10))
        period.legal_status_changes.append((day, weighted(rng, [("C1", 60), ("V2", 40)])))
    elif status == "J2":
        exit_on, reason = started_on + dt.timedelta(days=_between(rng, 1, 4)), None
    elif status == "J1":
        exit_on = started_on + dt.timedelta(days=_between(rng, 20, 150))
    current = period.legal_status_changes[-1][1] if period.legal_status_changes else status
    while not short_break and day < exit_on:
        if current == "V2" and rng.random() < 0.15:
            day, new = day + dt.timedelta(days=_between(rng, 30, 180)), "C1"
        elif current == "C1" and rng.random() < 0.75:
            day, new = day + dt.timedelta(days=_between(rng, 90, 300)), "C2"
        elif current == "C2" and tt.age_on(dob, day) < 6 and rng.random() < 0.4:
            day, new = day + dt.timedelta(days=_between(rng, 60, 240)), "E1"
            if rng.random() < 0.9:
                exit_on = day + dt.timedelta(days=_between(rng, 120, 420))
        else:
            break
        if day >= exit_on:
            break
        period.legal_status_changes.append((day, new))
        current = new
        if new == "E1" and rng.random() < 0.8:
            move = day + dt.timedelta(days=_between(rng, 20, 90))
            if move < exit_on:
                period.placement_changes.append((move, _placement(rng, move, tt.age_on(dob, move), "E1"), False))

    # Placement moves, about one in eight months, some unplanned.
    day, placement = started_on, period.placement_type
    planned_moves = []
    while True:
        day += dt.timedelta(days=int(rng.expovariate(1 / 240)) + 7)
        if day >= exit_on:
            break
        status_then = status
        for changed_on, code in period.legal_status_changes:
            if changed_on <= day:
                status_then = code
        if status_then == "E1":
            break  # the adoption placement is the move
        placement = _placement(rng, day, tt.age_on(dob, day), status_then, placement)
        planned_moves.append((day, placement, rng.random() < 0.3))
    period.placement_changes = sorted(period.placement_changes + planned_moves)

    # The exit: by the 18th birthday at the latest (s105), unless still looked after at the end.
    if exit_on >= cutoff:
        exit_on, reason = cutoff, weighted(rng, AGE_OUT_REASONS)
    elif reason is None:
        final = period.legal_status_changes[-1][1] if period.legal_status_changes else status
        reason = _exit_reason(rng, final, tt.age_on(dob, exit_on), child.uasc)
    if exit_on > options.end:
        period.ended_on, period.reason = None, None
    else:
        period.ended_on, period.reason = exit_on, reason
    last = period.ended_on or options.end + DAY  # changes happen strictly inside the period
    period.legal_status_changes = [(d, c) for d, c in period.legal_status_changes if started_on < d < last]
    period.placement_changes = _distinct_days(
        [(d, c, u) for d, c, u in period.placement_changes if started_on < d < last]
    )
    return period


def _distinct_days(changes: list[tuple[dt.date, str, bool]]) -> list[tuple[dt.date, str, bool]]:
    out: list[tuple[dt.date, str, bool]] = []
    for change in changes:
        if out and out[-1][0] == change[0]:
            continue
        if out and out[-1][1] == change[1]:
            continue  # a move to the same type of placement: keep the world simple, skip it
        out.append(change)
    return out


def _late_reason(rng: random.Random, sequence: int) -> tuple[str, str | None]:
    reason = weighted(rng, FIRST_REVIEW_LATE_REASONS if sequence == 1 else LATE_REASONS)
    return reason, rng.choice(OTHER_LATE_DETAILS) if reason == "other" else None


def _participation_code(rng: random.Random, age: int) -> str:
    if age < tt.PN0_UNDER:
        return "PN0"
    if age < 10:
        weights = [("PN1", 35), ("PN2", 4), ("PN3", 12), ("PN4", 8), ("PN5", 4), ("PN6", 25), ("PN7", 12)]
    else:
        weights = [("PN1", 42), ("PN2", 6), ("PN3", 2), ("PN4", 5), ("PN5", 7), ("PN6", 20), ("PN7", 18)]
    return weighted(rng, weights)


SEXES: dict[str, Sex] = {"male": "male", "female": "female", "unknown": "unknown"}
FORMATS: dict[str, Literal["in_person", "virtual", "hybrid"] | None] = {
    "in_person": "in_person",
    "virtual": "virtual",
    "hybrid": "hybrid",
    "": None,
}
CODED_VIA: dict[str, Via | None] = {"event": "event", "api": "api", "": None}


def plan_reviews(
    rng: random.Random, calendar: WorkingCalendar, options: Options, child: Child, period: CarePeriod
) -> list[Review]:
    """The period's reviews by the simulator's own timetable: each is due by the regulations from the
    start or from the day the previous one was held; most are held on or a little before that day,
    some late (each with a reason). A review is scheduled only when due before the 18th birthday; one
    still unheld when the child leaves is missed (due before the day they left) or cancelled."""
    dob, cutoff = child.date_of_birth, child.eighteenth_birthday
    fourth = tt.birthday(dob, tt.PN0_UNDER)
    last_day = min(
        (period.ended_on - DAY) if period.ended_on else options.end,  # held while looked after ...
        cutoff - DAY,  # ... never on or after the 18th birthday ...
        options.end,  # ... and never after yesterday
    )
    reviews: list[Review] = []
    due = tt.first_review_due(calendar, period.started_on, short_break=period.short_break)
    earliest = period.started_on
    sequence = 1
    while due < cutoff:
        review = Review(sequence=sequence, statutory_due_on=due)
        reviews.append(review)
        late = rng.random() < (0.12 if sequence == 1 else 0.09)
        if late:
            lateness = weighted(rng, [("days", 55), ("weeks", 35), ("months", 10)])
            span = {"days": (1, 10), "weeks": (11, 30), "months": (31, 75)}[lateness]
            held = working_on_or_after(calendar, due + dt.timedelta(days=_between(rng, *span)))
        else:
            window = 14 if sequence == 1 else 28
            held = working_on_or_before(calendar, due - dt.timedelta(days=_between(rng, 0, window)))
            if held < earliest:
                held = working_on_or_after(calendar, earliest)
            near_the_day = due - dt.timedelta(days=window) <= fourth <= due
            if near_the_day and earliest < fourth and rng.random() < 0.6:
                # Now and then exactly on the 4th birthday or the day before: the PN0 boundary.
                held = fourth - DAY if rng.random() < 0.4 else fourth
        leaving_soon = period.ended_on is not None and due < period.ended_on <= due + dt.timedelta(days=45)
        if leaving_soon and rng.random() < 0.3:
            held = last_day + DAY  # the child is about to leave: the review is let go, and missed
        if held > last_day:
            if period.ended_on is not None:  # the child left first
                review.closed = "missed" if due < period.ended_on else "cancelled"
                review.closed_on = period.ended_on
            break  # else: not held yet at the end of the world (overdue if its day has passed)
        review.held_on = held
        review.chair = child.iro_on(held)
        if held > due:
            review.late_reason, review.late_reason_detail = _late_reason(rng, sequence)
        review.format = FORMATS[weighted(rng, [("in_person", 58), ("virtual", 24), ("hybrid", 12), ("", 6)])]
        code = _participation_code(rng, tt.age_on(dob, held))
        review.code_via = CODED_VIA[weighted(rng, [("event", 82), ("api", 11), ("", 7)])]
        review.code = code if review.code_via is not None else None
        due = tt.next_review_due(held, held_sequence=sequence, short_break=period.short_break)
        earliest = held + DAY
        sequence += 1
    return reviews


def _allocations(rng: random.Random, iros: Sequence[Iro], child: Child, options: Options) -> None:
    previous: str | None = None
    for period in child.periods:
        iro = previous if previous is not None and rng.random() < 0.7 else _pick_iro(rng, iros)
        child.allocations.append((period.started_on, iro))
        previous = iro
        last = period.ended_on or options.end
        if (last - period.started_on).days > 200 and rng.random() < 0.25 and len(iros) > 1:
            moved = period.started_on + dt.timedelta(days=_between(rng, 60, (last - period.started_on).days - 30))
            previous = _pick_iro(rng, iros, not_this=iro)
            child.allocations.append((moved, previous))


def _case_notes(rng: random.Random, child: Child, options: Options) -> None:
    for period in child.periods:
        stop = min(period.ended_on or options.end + DAY, child.eighteenth_birthday, options.end + DAY)
        day = period.started_on + dt.timedelta(days=_between(rng, 3, 20))
        while day < stop:
            iro = child.iro_on(day)
            if iro is not None:
                kind, text = rng.choice(CASE_NOTE_KINDS)
                child.case_notes.append(CaseNote(recorded_on=day, iro=iro, kind=kind, text=text))
            day += dt.timedelta(days=_between(rng, 25, 95))


def _last_day_known(child: Child, options: Options) -> dt.date:
    """The last day an event about the child may carry: yesterday, before the 18th birthday."""
    return min(options.end, child.eighteenth_birthday - DAY)


def _corrections(rng: random.Random, child: Child, options: Options) -> None:
    last = _last_day_known(child, options)
    if child.sex == "unknown":
        on = child.registered_on + dt.timedelta(days=_between(rng, 2, 60))
        if on <= last:
            child.corrections.append(Correction(on, {"sex": rng.choice(("male", "female"))}))
    fixes = SPELLING_FIXES
    if child.display_name in fixes and rng.random() < 0.2:
        on = child.registered_on + dt.timedelta(days=_between(rng, 1, 300))
        if on <= last:
            # Registered with one spelling (`display_name`); the correction carries the right one.
            child.corrections.append(Correction(on, {"display_name": fixes[child.display_name]}))
    child.corrections.sort(key=lambda c: c.on)


def _date_of_birth_correction(rng: random.Random, child: Child, options: Options) -> None:
    """Rarely, the case system registers a wrong date of birth and corrects it before the first
    review, for a child aged 5 to 15 (so no birthday that matters, the 4th or the 18th, is near)."""
    if rng.random() >= 0.02:
        return
    first = child.periods[0]
    age = tt.age_on(child.date_of_birth, first.started_on)
    if not 5 <= age <= 15:
        return
    held = [r.held_on for r in first.reviews if r.held_on is not None]
    before = (held[0] if held else min(options.end, first.ended_on or options.end)) - child.registered_on
    if before.days < 3:
        return
    on = child.registered_on + dt.timedelta(days=_between(rng, 1, min(before.days - 1, 15)))
    shift = dt.timedelta(days=rng.choice((-1, 1)) * _between(rng, 1, 25))
    wrong = child.date_of_birth + shift
    if wrong > child.registered_on or tt.age_on(wrong, first.started_on) != age:
        return
    child.registered_date_of_birth = wrong
    child.corrections.append(Correction(on, {"date_of_birth": child.date_of_birth.isoformat()}))
    child.corrections.sort(key=lambda c: c.on)


def make_child(index: int, options: Options, calendar: WorkingCalendar, iros: Sequence[Iro]) -> Child:
    rng = random.Random(f"iro-simulate:{options.seed}:child:{index}")
    start, end = options.start, options.end
    span = (end - start).days
    if rng.random() < 0.25:  # already looked after when the record starts: entered in its first weeks
        entered = start + dt.timedelta(days=_between(rng, 0, min(30, span)))
    else:
        entered = start + dt.timedelta(days=_between(rng, 0, max(0, span - 5)))
    short_break = rng.random() < 0.04
    if short_break:
        years = rng.uniform(5, 17)
    else:
        band = weighted(rng, [("0", 19), ("1-4", 15), ("5-9", 18), ("10-15", 37), ("16-17", 11)])
        low, high = {"0": (0, 1), "1-4": (1, 5), "5-9": (5, 10), "10-15": (10, 16), "16-17": (16, 17.85)}[band]
        years = rng.uniform(low, high)
    dob = entered - dt.timedelta(days=int(years * 365.25))
    if tt.eighteenth_birthday(dob) <= entered + dt.timedelta(days=30):
        dob = tt.plus_months(entered, -12 * 17 - 6)
    sex = SEXES[weighted(rng, [("male", 55), ("female", 43), ("unknown", 2)])]
    age = tt.age_on(dob, entered)
    uasc: bool | None = None
    if age >= 14 and not short_break:
        uasc = rng.random() < 0.3
        if uasc and sex == "female" and rng.random() < 0.8:
            sex = "male"
    elif rng.random() < 0.5:
        uasc = False
    names = FIRST_NAMES["female" if sex == "female" else "male" if sex == "male" else rng.choice(("female", "male"))]
    child = Child(
        index=index,
        la_reference=f"SIM{options.seed}-{index + 1:05d}",
        date_of_birth=dob,
        registered_date_of_birth=dob,
        display_name=rng.choice(names),
        sex=sex,
        uasc=uasc,
        registered_on=entered,
    )
    started = entered
    while True:
        period = _period(rng, options, child, started, short_break)
        child.periods.append(period)
        if period.ended_on is None or period.reason in NO_RETURN or len(child.periods) >= 3:
            break
        if short_break or rng.random() >= 0.15:
            break
        started = period.ended_on + dt.timedelta(days=_between(rng, 30, 365))
        if started >= child.eighteenth_birthday - dt.timedelta(days=60) or started > end - dt.timedelta(days=5):
            break
    _allocations(rng, iros, child, options)
    for period in child.periods:
        period.reviews = plan_reviews(rng, calendar, options, child, period)
    _case_notes(rng, child, options)
    _corrections(rng, child, options)
    _date_of_birth_correction(rng, child, options)
    return child


def make_world(options: Options, calendar: WorkingCalendar) -> World:
    """The IROs and every child's care (no API activity yet: `shared.simulate.generate` adds it)."""
    iros = make_iros(options)
    children = [make_child(index, options, calendar, iros) for index in range(options.children)]
    return World(options=options, iros=iros, children=children)
