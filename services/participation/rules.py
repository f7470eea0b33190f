"""The participation rules as pure functions: no I/O, no database, no FastAPI (DESIGN brief 2.3).

Every review of a looked-after child records one DfE SSDA903 participation code (PN0-PN7,
`shared/reference/participation_codes.csv`). PN0 is for a child under 4 on the review date and
PN1-PN7 for a child of 4 or over, the 4th birthday counting as 4 (`shared.calendar.age_on`): slightly
stricter than DfE validator rules 440/441, which accept either code on the birthday itself, so every
export passes them. The rest are the platform's practice lists: how the child took part, how the
parents took part, feedback forms and the calendar quarters advocacy referrals are counted in. A bad
field raises a domain error (`services.participation.errors`, `shared.errors`; 422) naming the field,
by its name only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from services.participation.errors import ParticipationCodeContradictsAge
from shared import reference
from shared.calendar import age_on, birthday
from shared.errors import BeforeDateOfBirth, CodeNotOnList

__all__ = [
    "ANSWERS",
    "BEFORE_DATE_OF_BIRTH",
    "CHANNELS",
    "CODES",
    "CODE_INVALID_FOR_AGE",
    "DEFAULT_QUESTIONS",
    "METHODS",
    "ON_OR_AFTER_18TH_BIRTHDAY",
    "PARENT_PARTICIPATION",
    "PARENT_RELATIONSHIPS",
    "PARTICIPATED",
    "PN0",
    "PN0_AGE_LIMIT",
    "PROBLEMS",
    "RESPONDENTS",
    "Parent",
    "ParticipationRate",
    "Question",
    "check_answers",
    "check_channel",
    "check_code",
    "check_methods",
    "check_parents",
    "check_respondent",
    "code_for_age_ok",
    "code_meaning",
    "participation_pct",
    "participation_rate",
    "problems_of",
    "quarter_bounds",
    "quarter_of",
    "question_set",
]

_CODE_LIST: Final = "participation_codes"

# --- The participation codes (SSDA903; participation_codes.csv) -----------------------------------

CODES: Final[tuple[str, ...]] = tuple(row["code"] for row in reference.rows(_CODE_LIST))
PN0: Final = "PN0"
PN0_AGE_LIMIT: Final = 4
PARTICIPATED: Final[frozenset[str]] = frozenset({"PN1", "PN2", "PN3", "PN4", "PN5", "PN6"})

_MEANINGS: Final[dict[str, str]] = {row["code"]: row["meaning"] for row in reference.rows(_CODE_LIST)}


def code_meaning(code: str) -> str:
    """The meaning of a participation code, e.g. PN1 "Attends and speaks for themselves" (SSDA903);
    KeyError for a code not in the list."""
    try:
        return _MEANINGS[code]
    except KeyError:
        raise KeyError(f"Unknown participation code {code!r}; valid codes are: {', '.join(CODES)}.") from None


def code_for_age_ok(code: str, age: int) -> bool:
    """True when `code` fits a child of `age` on the review date: PN0 under 4, PN1-PN7 at 4 or over
    (brief 2.3; stricter than DfE rules 440/441 on the 4th birthday)."""
    if code == PN0:
        return age < PN0_AGE_LIMIT
    return code in CODES and age >= PN0_AGE_LIMIT


def check_code(code: str, *, date_of_birth: date, review_date: date) -> str:
    """The code if it is PN0-PN7 and fits the child's age on the review date, else 422 on `code`
    (SSDA903 participation codes; brief 2.3)."""
    if code not in CODES:
        raise CodeNotOnList(
            f"Unknown participation code {code!r}; valid codes are: {', '.join(CODES)}.", field="code", valid=CODES
        )
    if review_date < date_of_birth:
        raise BeforeDateOfBirth(
            f"The review date {review_date.isoformat()} is before the child's date of birth.",  # never echo a DOB
            field="review_date",
        )
    age = age_on(date_of_birth, review_date)
    if code_for_age_ok(code, age):
        return code
    on = f"the child was {age} on {review_date.isoformat()}"
    if code == PN0:
        raise ParticipationCodeContradictsAge(
            f"PN0 is only for a child under {PN0_AGE_LIMIT} on the review date; {on}."
        )
    raise ParticipationCodeContradictsAge(
        f"{code} is only for a child aged {PN0_AGE_LIMIT} or over on the review date; {on}, so the code is PN0."
    )


# --- Problems: kept and flagged, never dropped ---------------------------------------------------

CODE_INVALID_FOR_AGE: Final = "code_invalid_for_age"
ON_OR_AFTER_18TH_BIRTHDAY: Final = "review_on_or_after_18th_birthday"
BEFORE_DATE_OF_BIRTH: Final = "review_before_date_of_birth"
PROBLEMS: Final[tuple[str, ...]] = (CODE_INVALID_FOR_AGE, ON_OR_AFTER_18TH_BIRTHDAY, BEFORE_DATE_OF_BIRTH)
"""What can be wrong with a held review's record once a date of birth is corrected, in this order."""
AGE_OF_MAJORITY: Final = 18


def problems_of(*, code: str | None, date_of_birth: date, review_date: date) -> list[str]:
    """What is wrong with a held review and its stored code under the child's date of birth now (a
    corrected one, from `child.updated`): the record is kept and flagged, never dropped, and the DfE export
    lists flagged records as problems rather than export them. In `PROBLEMS` order:

    - `code_invalid_for_age`: the stored code contradicts the child's age on the review date (PN0 only
      under 4, PN1-PN7 from 4; `code_for_age_ok`, the rule `check_code` refuses at entry);
    - `review_on_or_after_18th_birthday`: nobody is looked after from their 18th birthday (Children Act
      1989 s105; 29 February births: 1 March in a common year);
    - `review_before_date_of_birth`: the review date is before the birth (the reviews service refuses
      such a correction; a stray event is flagged all the same, and no code can fit it).

    No code (`None`: uncoded) is never `code_invalid_for_age`. Empty when nothing is wrong."""
    if review_date < date_of_birth:
        return [CODE_INVALID_FOR_AGE, BEFORE_DATE_OF_BIRTH] if code is not None else [BEFORE_DATE_OF_BIRTH]
    problems = []
    if code is not None and not code_for_age_ok(code, age_on(date_of_birth, review_date)):
        problems.append(CODE_INVALID_FOR_AGE)
    if review_date >= birthday(date_of_birth, AGE_OF_MAJORITY):
        problems.append(ON_OR_AFTER_18TH_BIRTHDAY)
    return problems


# --- The participation rate (brief 2.3) -----------------------------------------------------------


@dataclass(frozen=True)
class ParticipationRate:
    """Reviews of children aged 4+ coded PN1-PN6 over all coded reviews of children aged 4+ (brief 2.3)."""

    participated: int
    reviews: int
    pct: float | None


_ONE_DECIMAL: Final = Decimal("0.1")


def participation_pct(participated: int, reviews: int) -> float | None:
    """`participated` as a percentage of `reviews`, to one decimal place rounding half up (31.25 gives
    31.3); None when there are no reviews (brief 2.3)."""
    if reviews < 0 or participated < 0:
        raise ValueError(f"counts cannot be negative: {participated} of {reviews}")
    if participated > reviews:
        raise ValueError(f"participated ({participated}) cannot exceed reviews ({reviews})")
    if reviews == 0:
        return None
    pct = (Decimal(participated) * 100 / Decimal(reviews)).quantize(_ONE_DECIMAL, rounding=ROUND_HALF_UP)
    return float(pct)


def participation_rate(codes: Iterable[str | None]) -> ParticipationRate:
    """The rate over reviews' codes (brief 2.3): PN0 (under 4) and uncoded (None) reviews are left out,
    PN1-PN6 participated, PN7 did not. ValueError for a code not in PN0-PN7."""
    participated = reviews = 0
    for code in codes:
        if code is None or code == PN0:
            continue
        if code not in CODES:
            raise ValueError(f"Unknown participation code {code!r}; valid codes are: {', '.join(CODES)}.")
        reviews += 1
        if code in PARTICIPATED:
            participated += 1
    return ParticipationRate(participated, reviews, participation_pct(participated, reviews))


# --- How the child took part (practice list; brief 2.3) -------------------------------------------

METHODS: Final[dict[str, str]] = dict(reference.labels("participation_methods"))
"""How a child took part: key to label (shared/reference/participation_methods.csv)."""


def _valid(options: Iterable[str]) -> str:
    return ", ".join(options)


def check_methods(methods: Iterable[str]) -> tuple[str, ...]:
    """The methods de-duplicated in their first order, or 422 on `("methods", i)` for the
    first unknown one (brief 2.3)."""
    seen: dict[str, None] = {}
    for i, method in enumerate(methods):
        if method not in METHODS:
            raise CodeNotOnList(
                f"Unknown method {method!r}; valid methods are: {_valid(METHODS)}.",
                field=("methods", i),
                valid=list(METHODS),
            )
        seen.setdefault(method)
    return tuple(seen)


# --- How the parents took part (practice list; brief 2.3) -----------------------------------------

PARENT_RELATIONSHIPS: Final[dict[str, str]] = dict(reference.labels("parent_relationships"))
"""A parent's or carer's relationship to the child (shared/reference/parent_relationships.csv)."""

PARENT_PARTICIPATION: Final[dict[str, str]] = dict(reference.labels("parent_participation"))
"""How a parent or carer took part (shared/reference/parent_participation.csv)."""


@dataclass(frozen=True)
class Parent:
    """One parent's (or carer's) relationship to the child and how they took part (brief 2.3)."""

    relationship: str
    participation: str


def _check_listed(value: object, options: Mapping[str, str], field: str | tuple[str | int, ...], what: str) -> str:
    if value is None:
        raise CodeNotOnList(
            f"{what} is required; valid values are: {_valid(options)}.", field=field, valid=list(options)
        )
    if not isinstance(value, str) or value not in options:
        raise CodeNotOnList(
            f"Unknown {what} {value!r}; valid values are: {_valid(options)}.", field=field, valid=list(options)
        )
    return value


def check_parents(parents: Sequence[Mapping[str, object]]) -> tuple[Parent, ...]:
    """Each parent's `relationship` and `participation` from the lists, or 422 on
    `("parents", i, field)` for the first missing or unknown one (brief 2.3)."""
    checked: list[Parent] = []
    for i, parent in enumerate(parents):
        relationship = _check_listed(
            parent.get("relationship"), PARENT_RELATIONSHIPS, ("parents", i, "relationship"), "relationship"
        )
        participation = _check_listed(
            parent.get("participation"), PARENT_PARTICIPATION, ("parents", i, "participation"), "participation"
        )
        checked.append(Parent(relationship, participation))
    return tuple(checked)


# --- Feedback forms (practice lists; brief 2.3) ---------------------------------------------------

RESPONDENTS: Final[dict[str, str]] = dict(reference.labels("feedback_respondents"))
"""Who filled in a feedback form (shared/reference/feedback_respondents.csv)."""

CHANNELS: Final[dict[str, str]] = dict(reference.labels("feedback_channels"))
"""How a feedback form came in (shared/reference/feedback_channels.csv)."""

ANSWERS: Final[tuple[str, ...]] = ("always", "sometimes", "never")


@dataclass(frozen=True)
class Question:
    """One feedback question: a stable key and the text shown (brief 2.3: a configurable set)."""

    key: str
    text: str


DEFAULT_QUESTIONS: Final[tuple[Question, ...]] = (
    Question("iro_listens", "My IRO listens to me"),
    Question("understand_care_plan", "I understand my care plan"),
    Question("supported_in_review", "I felt supported in my review"),
    Question("views_taken_into_account", "My views were taken into account"),
)


def question_set(pairs: Iterable[tuple[str, str]]) -> tuple[Question, ...]:
    """A configured question set from (key, text) pairs: at least one, keys distinct, neither blank
    (brief 2.3); ValueError otherwise, as a configuration error."""
    questions = tuple(Question(key.strip(), text.strip()) for key, text in pairs)
    if not questions:
        raise ValueError("A feedback question set needs at least one question.")
    keys = [q.key for q in questions]
    for q in questions:
        if not q.key or not q.text:
            raise ValueError(f"A feedback question needs a key and a text; got {q.key!r}: {q.text!r}.")
    if len(set(keys)) != len(keys):
        raise ValueError(f"Feedback question keys must be distinct; got {keys}.")
    return questions


def check_respondent(role: str, *, field: str = "respondent") -> str:
    """The respondent's role if listed, else 422 on `field` (brief 2.3)."""
    return _check_listed(role, RESPONDENTS, field, "respondent role")


def check_channel(channel: str, *, field: str = "channel") -> str:
    """The channel the form came in by if listed, else 422 on `field` (brief 2.3)."""
    return _check_listed(channel, CHANNELS, field, "channel")


def check_answers(answers: Mapping[str, str], questions: Sequence[Question] = DEFAULT_QUESTIONS) -> dict[str, str]:
    """The answers in question order, or 422 on `("answers", key)` for a key not in the question
    set or an answer other than always, sometimes or never (brief 2.3). Questions may go unanswered."""
    keys = [q.key for q in questions]
    for key, answer in answers.items():
        field = ("answers", key)
        if key not in keys:
            raise CodeNotOnList(
                f"Unknown question {key!r}; valid questions are: {_valid(keys)}.", field=field, valid=keys
            )
        if answer not in ANSWERS:
            raise CodeNotOnList(
                f"Unknown answer {answer!r} to {key!r}; valid answers are: {_valid(ANSWERS)}.",
                field=field,
                valid=ANSWERS,
            )
    return {key: answers[key] for key in keys if key in answers}


# --- Advocacy referrals, counted per calendar quarter (brief 2.3) ---------------------------------


def quarter_of(day: date) -> str:
    """The calendar quarter of `day`, e.g. "2021-Q2" for April to June 2021 (brief 2.3)."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarter_bounds(quarter: str) -> tuple[date, date]:
    """The first and last days of a quarter named as `quarter_of` names it ("2021-Q2" gives 1 April and
    30 June 2021); ValueError for any other shape."""
    year, sep, number = quarter.partition("-Q")
    if not sep or len(year) != 4 or not year.isdigit() or number not in {"1", "2", "3", "4"}:
        raise ValueError(f"A quarter is written like '2021-Q2'; got {quarter!r}.")
    first_month = (int(number) - 1) * 3 + 1
    start = date(int(year), first_month, 1)
    end = date(int(year) + 1, 1, 1) if first_month == 10 else date(int(year), first_month + 3, 1)
    return start, date.fromordinal(end.toordinal() - 1)
