"""The reviews service's refusals: each a stable problem `type` a client can branch on (docs/errors.md).

Raised by the rules and the service without knowing the request's shape: a refusal about one body
field names it by its class's `field` or when raised, and `shared.errors.DomainError` places it in
`errors[].loc`. The refusals every service makes alike (a date still to come, a code not on its
list, a date before the child's birth) are in `shared.errors`; an unknown id in the path is
`shared.errors.NotFound`.
"""

from __future__ import annotations

from shared.errors import DomainError

__all__ = [
    "AllocationBeforeCurrent",
    "BeforeCarePeriod",
    "BeforeReviewHeld",
    "CarePeriodEnded",
    "CarePeriodOpen",
    "CarePeriodsOverlap",
    "ChangeBeforeLatest",
    "DateOfBirthAfterCare",
    "EarlyReviewNotEarlier",
    "HeldOnNotFirstMeeting",
    "IroEmailTaken",
    "IroInactive",
    "LaReferenceTaken",
    "NotLookedAfter",
    "NothingToUpdate",
    "NullNotAllowed",
    "OpenDecisionCompleted",
    "PastEighteenthBirthday",
    "ReasonDetailMissing",
    "ReviewBeforePrevious",
    "ReviewHeldAfterEnd",
    "ReviewLateWithoutReason",
    "ReviewNotHeld",
    "ReviewNotJudged",
    "ReviewNotLate",
    "ReviewNotScheduled",
    "UnknownIro",
]


# --- 409: the current state refuses (`current_state` or `existing_id` says what it is) ------------


class IroEmailTaken(DomainError):
    """`existing_id` is the IRO registered with that email."""

    status = 409
    type_ = "iro-email-taken"
    title = "An IRO with this email already exists."


class LaReferenceTaken(DomainError):
    """`existing_id` is the child registered with that `la_reference`."""

    status = 409
    type_ = "la-reference-taken"
    title = "A child with this la_reference already exists."


class NotLookedAfter(DomainError):
    status = 409
    type_ = "child-not-looked-after"
    title = "The child has no open care period."


class CarePeriodOpen(DomainError):
    status = 409
    type_ = "care-period-open"
    title = "The child already has an open care period."


class CarePeriodEnded(DomainError):
    status = 409
    type_ = "care-period-ended"
    title = "The care period has already ended."


class ReviewNotScheduled(DomainError):
    """Bringing forward, rearranging or holding a review that is already held, missed or cancelled."""

    status = 409
    type_ = "review-not-scheduled"
    title = "The review is no longer scheduled."


class ReviewNotHeld(DomainError):
    """Record-keeping dates after the review, or decisions, for a review not held."""

    status = 409
    type_ = "review-not-held"
    title = "The review has not been held."


# --- 422: a field breaks a rule (`errors[].loc` names it) ----------------------------------------


class NullNotAllowed(DomainError):
    type_ = "null-not-allowed"
    title = "The field cannot be null."


class NothingToUpdate(DomainError):
    type_ = "nothing-to-update"
    title = "The update changes nothing."

    def __init__(self, detail: str) -> None:
        super().__init__(detail, field=())  # the body as a whole


class PastEighteenthBirthday(DomainError):
    """Nobody is looked after from their 18th birthday (Children Act 1989 s105)."""

    type_ = "past-eighteenth-birthday"
    title = "The date is on or after the child's 18th birthday."


class BeforeCarePeriod(DomainError):
    type_ = "before-care-period"
    title = "The date is before the care period started."


class CarePeriodsOverlap(DomainError):
    field = "started_on"
    type_ = "care-periods-overlap"
    title = "A new care period cannot start before the last one ended."


class ReviewHeldAfterEnd(DomainError):
    field = "ended_on"
    type_ = "review-held-after-end"
    title = "A review of the care period was held after this end date."


class EarlyReviewNotEarlier(DomainError):
    field = "due_on"
    type_ = "early-review-not-earlier"
    title = "An early review must be due before the review's current due date."


class ReasonDetailMissing(DomainError):
    type_ = "reason-detail-missing"
    title = "An `other` reason needs its detail."


class HeldOnNotFirstMeeting(DomainError):
    field = "held_on"
    type_ = "held-on-not-first-meeting"
    title = "A review held over several meetings is held on the first meeting's date."


class ReviewBeforePrevious(DomainError):
    field = "held_on"
    type_ = "review-before-previous"
    title = "A review cannot be held before the previous review."


class ReviewLateWithoutReason(DomainError):
    field = "late_reason"
    type_ = "review-late-without-reason"
    title = "A late review needs a late reason."


class ReviewNotLate(DomainError):
    field = "late_reason"
    type_ = "review-not-late"
    title = "The review is in time: a late reason does not apply."


class ReviewNotJudged(DomainError):
    """A `late_reason` for the first review of a care period that began before the data (a backfill):
    its timeliness is not judged, so it is neither in time nor late (`rules.timeliness_judged`)."""

    field = "late_reason"
    type_ = "review-not-judged"
    title = "The review's timeliness is not judged: a late reason does not apply."


class BeforeReviewHeld(DomainError):
    type_ = "before-review-held"
    title = "The date is before the review was held."


class OpenDecisionCompleted(DomainError):
    field = "completed_on"
    type_ = "open-decision-completed"
    title = "An open decision has no completed_on date."


class ChangeBeforeLatest(DomainError):
    """A placement or legal status change dated before the latest one recorded for its care period: changes
    are recorded in date order, so the current placement and legal status and each change's previous legal
    status stay true."""

    field = "changed_on"
    type_ = "change-before-latest"
    title = "A change is dated before the latest change recorded for the care period."


class DateOfBirthAfterCare(DomainError):
    """A corrected date of birth after the start of one of the child's care periods or a review held
    (the message names that date, never the date of birth)."""

    field = "date_of_birth"
    type_ = "date-of-birth-after-care"
    title = "The date of birth is after the child's care began or a review was held."


class UnknownIro(DomainError):
    field = "iro_id"
    type_ = "unknown-iro"
    title = "No such IRO."


class IroInactive(DomainError):
    field = "iro_id"
    type_ = "iro-inactive"
    title = "The IRO is not active."


class AllocationBeforeCurrent(DomainError):
    field = "allocated_on"
    type_ = "allocation-before-current"
    title = "An allocation cannot begin before the current one."
