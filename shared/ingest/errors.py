"""Refusals of ingested events that no service API has: each a stable `type` (docs/errors.md)."""

from __future__ import annotations

from shared.errors import DomainError

__all__ = [
    "BodyCleared",
    "NoReviewToHold",
    "SignatureRefused",
    "SourceNotConfigured",
    "SourcesMixed",
    "TooManyEvents",
    "UnsupportedContentType",
]


class NoReviewToHold(DomainError):
    """A `review.held` that fits no review: no care period contains `held_on`, the child is 18 by
    then, or the period has no unheld review left. The detail says which; replay it once fixed."""

    status = 409
    field = "held_on"
    type_ = "no-review-to-hold"
    title = "No review of the child fits this review.held event."


class SourcesMixed(DomainError):
    """Every event of one request must name the same `source` (its signature is that source's)."""

    type_ = "sources-mixed"
    title = "The events name more than one source."


class SignatureRefused(DomainError):
    """The Standard Webhooks signature is missing, stale (over 5 minutes) or matches no secret of the
    source: the request is not the source speaking, so nothing of it is stored."""

    status = 401
    type_ = "signature-refused"
    title = "The request's signature does not verify."


class SourceNotConfigured(DomainError):
    """In production every source needs a signing secret (`IRO_INGEST_SECRETS`)."""

    status = 403
    type_ = "source-not-configured"
    title = "The source has no signing secret configured."


class TooManyEvents(DomainError):
    """A batch over `IRO_MAX_BATCH_EVENTS` events."""

    status = 413
    type_ = "too-many-events"
    title = "The batch has more events than the limit."


class UnsupportedContentType(DomainError):
    """`POST /v1/events` takes `application/cloudevents+json` or `application/cloudevents-batch+json`."""

    status = 415
    type_ = "unsupported-media-type"
    title = "The body's content type is not one this path takes."


class BodyCleared(DomainError):
    """A replay needs the event's raw body, cleared after the inbox's retention period."""

    status = 409
    type_ = "inbox-body-cleared"
    title = "The event's body is no longer kept."
