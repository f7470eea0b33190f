"""The escalations service's refusals: each a stable problem `type` a client can branch on (docs/errors.md).

The pure rules (`rules.py`) raise them knowing only the name of the field they refuse (a class's
`field`, or given when raised); `shared.errors.DomainError` places it in `errors[].loc`. The
refusals every service makes alike (a date still to come, a value not on its list, blank text, an
unknown child) are in `shared.errors`; an unknown id in the path is `shared.errors.NotFound`.
"""

from __future__ import annotations

from shared.errors import DomainError

__all__ = ["BeforeCurrentStage", "EscalationAtLastStage", "EscalationNotOpen", "ScopeMismatch", "StageAlreadyAnswered"]


# --- 409: the escalation's state refuses (`current_state` and `stage` say where it stands) -------


class EscalationNotOpen(DomainError):
    """Acting on an escalation already resolved, withdrawn or referred to Cafcass."""

    status = 409
    type_ = "escalation-not-open"
    title = "The escalation is closed."


class StageAlreadyAnswered(DomainError):
    status = 409
    type_ = "stage-already-answered"
    title = "The current stage has already been answered."


class EscalationAtLastStage(DomainError):
    status = 409
    type_ = "escalation-at-last-stage"
    title = "The escalation is at the last stage of the ladder."


# --- 422: a field breaks a rule (`errors[].loc` names it) ----------------------------------------


class ScopeMismatch(DomainError):
    """`child` needs one child id, `children` two or more distinct ones, `service` none."""

    field = "child_ids"
    type_ = "scope-mismatch"
    title = "The child ids do not fit the scope."


class BeforeCurrentStage(DomainError):
    """An action dated before the escalation was raised or its current stage began."""

    type_ = "before-current-stage"
    title = "The date is before the current stage began."
