"""A request body to its CloudEvents, each checked as CloudEvents 1.0 (structured JSON) and its
`data` by type.

- `application/cloudevents+json`: one event, a JSON object.
- `application/cloudevents-batch+json`: a JSON array of events (the CloudEvents JSON format's batch
  mode; the Python SDK reads single events only, so the array is split here and each element is
  read by the SDK).

`elements(body, batch=...)` gives the parsed elements, or raises `BodyUnreadable` (400: not JSON, or
not the shape the content type says). `check(element)` gives a `Checked` event or the problems
naming each bad field, as `loc` lists: `["specversion"]`, `["data", "held_on"]`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from cloudevents.core.exceptions import BaseCloudEventException, CloudEventValidationError
from cloudevents.core.v1.event import CloudEvent
from pydantic import ValidationError

from shared.ingest.data import DATA_MODELS, EventData

__all__ = ["BATCH", "SINGLE", "BodyUnreadable", "Checked", "Refused", "check", "elements", "id_of", "source_of"]

SINGLE = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
MAX_ID_LENGTH = 255  # an `id` or `source` longer than this is refused (they key the inbox)
_JSON = re.compile(r"^application/([a-z0-9.+-]+\+)?json(;.*)?$", re.IGNORECASE)  # as the SDK's JSON format reads it


class BodyUnreadable(ValueError):
    """The body is not JSON, or not an object (single) / an array (batch)."""


@dataclass(frozen=True)
class Checked:
    """An event whose envelope and data passed: what is applied."""

    id: str
    source: str
    type: str
    time: dt.datetime | None
    data: EventData


@dataclass(frozen=True)
class Refused:
    """An event refused before it is applied: each bad field's `loc` and `msg`."""

    errors: list[dict[str, Any]] = field(default_factory=list)


def elements(body: bytes, *, batch: bool) -> list[Any]:
    """The body's events, in order (a single event is a list of one)."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BodyUnreadable(f"The body is not JSON: {type(exc).__name__}.") from None
    if batch:
        if not isinstance(parsed, list):
            raise BodyUnreadable(f"A {BATCH} body is a JSON array of events.")
        return parsed
    if not isinstance(parsed, dict):
        raise BodyUnreadable(f"A {SINGLE} body is one JSON object.")
    return [parsed]


def _text(element: Any, name: str) -> str | None:
    value = element.get(name) if isinstance(element, dict) else None
    return value if isinstance(value, str) and value and len(value) <= MAX_ID_LENGTH else None


def id_of(element: Any) -> str | None:
    """The event's `id` when it has a usable one (a non-empty string of at most 255 characters)."""
    return _text(element, "id")


def source_of(element: Any) -> str | None:
    """The event's `source` when it has a usable one."""
    return _text(element, "source")


def _error(loc: list[str | int], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": kind}


def check(element: Any) -> Checked | Refused:
    """One element checked: the envelope by the CloudEvents SDK (required `specversion` 1.0, `id`,
    `source`, `type`; optional attributes typed), `time` RFC 3339, then `data` by the type's model
    (shared.ingest.data). Every problem found is named, envelope first."""
    if not isinstance(element, dict):
        return Refused([_error([], "An event is a JSON object.", "type_error")])
    attributes = {key: value for key, value in element.items() if key not in ("data", "data_base64")}
    problems: list[dict[str, Any]] = []
    if attributes.get("specversion") != "1.0":
        problems.append(_error(["specversion"], 'CloudEvents `specversion` must be "1.0".', "value_error"))
    for name in ("id", "source"):
        if name in attributes and isinstance(attributes[name], str) and len(attributes[name]) > MAX_ID_LENGTH:
            problems.append(_error([name], f"At most {MAX_ID_LENGTH} characters.", "string_too_long"))
    time = attributes.get("time")
    if time is not None:
        try:
            attributes["time"] = dt.datetime.fromisoformat(time) if isinstance(time, str) else None
        except (ValueError, OverflowError):
            attributes["time"] = None
        if attributes["time"] is None or attributes["time"].tzinfo is None:
            problems.append(_error(["time"], "An RFC 3339 timestamp with its offset, e.g. 2026-03-01T09:30:00Z.",
                                   "value_error"))  # fmt: skip
            attributes.pop("time")
    else:
        attributes["time"] = None  # the SDK would default it to now: an absent time stays absent
    for name in ("id", "source", "type"):
        if name not in attributes:
            problems.append(_error([name], "Field required.", "missing"))
    content_type = attributes.get("datacontenttype")
    if content_type is not None and not (isinstance(content_type, str) and _JSON.match(content_type)):
        problems.append(_error(["datacontenttype"], "The data is JSON: `application/json`, or leave it out.",
                               "value_error"))  # fmt: skip
    try:
        CloudEvent({**attributes, "time": attributes.get("time") or dt.datetime.now(dt.UTC)}, None)
    except CloudEventValidationError as invalid:
        named = {tuple(p["loc"]) for p in problems}
        for name, found in invalid.errors.items():
            if (name,) not in named:
                problems.append(_error([name], "; ".join(str(e) for e in found), "value_error"))
    except BaseCloudEventException as exc:
        problems.append(_error([], str(exc), "value_error"))
    event_type = attributes.get("type")
    model = DATA_MODELS.get(event_type) if isinstance(event_type, str) else None
    if isinstance(event_type, str) and event_type and model is None:
        problems.append(_error(["type"], f"Not a type the platform takes; it takes: {', '.join(DATA_MODELS)}.",
                               "unknown_type"))  # fmt: skip
    data: EventData | None = None
    if model is not None:
        if "data" not in element:
            problems.append(_error(["data"], "Field required.", "missing"))
        else:
            try:
                data = model.model_validate(element["data"])
            except ValidationError as invalid:
                for error in invalid.errors(include_url=False, include_context=False, include_input=False):
                    problems.append(_error(["data", *error["loc"]], error["msg"], error["type"]))
    if problems or data is None:
        return Refused(problems or [_error(["data"], "Not readable.", "value_error")])
    return Checked(
        id=str(attributes["id"]), source=str(attributes["source"]), type=str(event_type), time=attributes.get("time"),
        data=data,
    )  # fmt: skip
