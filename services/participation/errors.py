"""The participation service's refusals: each a stable problem `type` a client can branch on (docs/errors.md).

The pure rules (`rules.py`) raise them knowing only the name of the field they refuse (a class's
`field`, or given when raised); `shared.errors.DomainError` places it in `errors[].loc`. The
refusals every service makes alike (a date still to come, a value not on its list, blank text, an
unknown child, a date before the child's birth) are in `shared.errors`; an unknown id in the path
is `shared.errors.NotFound`.
"""

from __future__ import annotations

from shared.errors import DomainError

__all__ = ["ChildNotOfReview", "OutcomeBeforeReferral", "ParticipationCodeContradictsAge", "UnknownHeldReview"]


class ParticipationCodeContradictsAge(DomainError):
    """PN0 for a child of 4 or over on the review date, or PN1-PN7 for a child under 4 (SSDA903)."""

    field = "code"
    type_ = "participation-code-contradicts-age"
    title = "The participation code does not fit the child's age on the review date."


class UnknownHeldReview(DomainError):
    """A form names a review no `review.held` event has announced."""

    field = "review_id"
    type_ = "unknown-held-review"
    title = "No such review has been held."


class ChildNotOfReview(DomainError):
    field = "child_id"
    type_ = "child-not-of-review"
    title = "The review is not a review of this child."


class OutcomeBeforeReferral(DomainError):
    field = "outcome_on"
    type_ = "outcome-before-referral"
    title = "The outcome date is before the referral."
