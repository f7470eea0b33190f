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


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def normalise_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as it will read back from jsonb: dates and uuids as strings, plain JSON types."""
    loaded = json.loads(dumps(dict(payload)))
    assert isinstance(loaded, dict)
    return loaded


def timestamp(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("footprint timestamps must be timezone-aware")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _uuid(value: uuid.UUID | str | None) -> str | None:
    return None if value is None else str(uuid.UUID(str(value)))


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
