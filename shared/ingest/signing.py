"""Standard Webhooks signatures on ingest requests: `webhook-id`, `webhook-timestamp` (Unix seconds)
and `webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, several space-separated
during a rotation), verified with the maintained `standardwebhooks` package: constant-time
comparison, and a timestamp more than 5 minutes from now refused (the spec's tolerance).

Secrets are per source (`IRO_INGEST_SECRETS`, e.g. `{"mosaic": ["whsec_...", "whsec_..."]}`); a
request passes when any of its source's active secrets verifies it, so a source can rotate without a
gap. `DEVELOPMENT_SECRET` signs for every source a development or test run has no secret for;
production refuses it, as it refuses the development JWT key.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping

from standardwebhooks import Webhook

__all__ = ["DEVELOPMENT_SECRET", "SignatureInvalid", "headers_for", "new_secret", "verify"]

DEVELOPMENT_SECRET = "whsec_aXJvLWRldmVsb3BtZW50LWluZ2VzdC1zZWNyZXQtMzJi"  # base64 of a fixed 32-byte text
"""The signing secret of every source without one configured, in development and test runs only."""


class SignatureInvalid(Exception):
    """The request's signature headers are missing, malformed, stale (over 5 minutes) or match no secret."""


def new_secret() -> str:
    """A fresh secret in the Standard Webhooks form (`whsec_` and base64 of 32 random bytes)."""
    import base64
    import secrets

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def headers_for(
    body: bytes, secret: str, *, msg_id: str | None = None, timestamp: dt.datetime | None = None
) -> dict[str, str]:
    """The three headers that sign `body` with `secret` (for clients: simulator, tests, benchmarks).
    `msg_id` defaults to a new UUID and `timestamp` to now (UTC)."""
    msg_id = msg_id or str(uuid.uuid4())
    timestamp = timestamp or dt.datetime.now(dt.UTC)
    # The package signs the wall time it is given as if it were UTC: give it UTC (a naive time is taken as UTC).
    timestamp = timestamp.astimezone(dt.UTC) if timestamp.tzinfo else timestamp.replace(tzinfo=dt.UTC)
    signature = Webhook(secret).sign(msg_id, timestamp, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
    }


def verify(body: bytes, headers: Mapping[str, str], secrets: Iterable[str]) -> None:
    """Pass when any of `secrets` verifies the request; raise `SignatureInvalid` saying why not."""
    reasons: list[str] = []
    for secret in secrets:
        try:
            Webhook(secret).verify(body, dict(headers), json_parse=False)
            return
        except Exception as exc:  # the package raises its own error, and ValueError on malformed headers
            reasons.append(str(exc) or type(exc).__name__)
    reason = reasons[0] if len(set(reasons)) == 1 else "No matching signature found"
    raise SignatureInvalid(reason if reasons else "No secret is configured for the source")
