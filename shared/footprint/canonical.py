"""The canonical encoding of an event and its chained hash (docs/footprint.md defines it for auditors).

    hash = SHA-256( prev_hash as 64 lowercase hex ASCII bytes || canonical(event) ), as lowercase hex

canonical(event) is the UTF-8 JSON of an object with exactly the keys `actor`, `child_id`, `id`,
`iro_id`, `occurred_at`, `payload`, `recorded_at`, `request_id`, `seq`, `service`, `subject_id`,
`subject_type`, `type`; keys sorted by code point at every depth; no whitespace; non-ASCII left as
is; uuids as lowercase hyphenated strings; timestamps in UTC as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

GENESIS_HASH = "0" * 64


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return timestamp(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


# One encoder, built once: verify encodes every event of the log (json.dumps builds one a call).
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default).encode


def dumps(value: Any) -> str:
    return _ENCODE(value)


def normalise_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as it will read back from jsonb: dates and uuids as strings, plain JSON types."""
    loaded = json.loads(dumps(dict(payload)))
    assert isinstance(loaded, dict)
    return loaded


def timestamp(value: dt.datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC. Raises ValueError for a naive datetime."""
    if value.tzinfo is None:
        raise ValueError("footprint timestamps must be timezone-aware")
    value = value.astimezone(dt.UTC)
    if value.year >= 1000:  # isoformat is the same text, at half strftime's cost (verify's hot path)
        return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _uuid(value: uuid.UUID | str | None) -> str | None:
    if value is None:
        return None
    return str(value) if isinstance(value, uuid.UUID) else str(uuid.UUID(str(value)))


def canonical(
    *,
    seq: int,
    id: uuid.UUID | str,
    type: str,
    occurred_at: dt.datetime,
    recorded_at: dt.datetime,
    service: str,
    actor: Mapping[str, Any],
    child_id: uuid.UUID | str | None,
    iro_id: uuid.UUID | str | None,
    subject_type: str,
    subject_id: str,
    payload: Mapping[str, Any],
    request_id: str | None,
) -> bytes:
    document = {
        "actor": dict(actor),
        "child_id": _uuid(child_id),
        "id": _uuid(id),
        "iro_id": _uuid(iro_id),
        "occurred_at": timestamp(occurred_at),
        "payload": dict(payload),
        "recorded_at": timestamp(recorded_at),
        "request_id": request_id,
        "seq": seq,
        "service": service,
        "subject_id": subject_id,
        "subject_type": subject_type,
        "type": type,
    }
    return dumps(document).encode("utf-8")


def chain_hash(prev_hash: str, encoded: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + encoded).hexdigest()


# The keys of the canonical document, sorted; `recorded_at` and `seq` are the log's to fill in.
KEYS = ("actor", "child_id", "id", "iro_id", "occurred_at", "payload", "recorded_at", "request_id", "seq",
        "service", "subject_id", "subject_type", "type")  # fmt: skip


def canonical_parts(**fields: Any) -> tuple[str, str, str]:
    """`canonical(...)` as text in three parts around the `recorded_at` timestamp and the `seq`,
    which the database fills in under the append lock (migration 0007):

        canonical = before_recorded_at + "<timestamp>" + before_seq + "<seq>" + after_seq

    A JSON object with sorted keys and no whitespace is its members joined in key order, so the
    parts are the members' own encodings."""
    document = {
        "actor": dict(fields["actor"]),
        "child_id": _uuid(fields["child_id"]),
        "id": _uuid(fields["id"]),
        "iro_id": _uuid(fields["iro_id"]),
        "occurred_at": timestamp(fields["occurred_at"]),
        "payload": dict(fields["payload"]),
        "request_id": fields["request_id"],
        "service": fields["service"],
        "subject_id": fields["subject_id"],
        "subject_type": fields["subject_type"],
        "type": fields["type"],
    }

    def members(keys: tuple[str, ...]) -> str:
        return ",".join(f"{dumps(key)}:{dumps(document[key])}" for key in keys)

    before_recorded_at = "{" + members(KEYS[:6]) + ',"recorded_at":"'
    before_seq = '",' + members(("request_id",)) + ',"seq":'
    after_seq = "," + members(KEYS[9:]) + "}"
    return before_recorded_at, before_seq, after_seq
