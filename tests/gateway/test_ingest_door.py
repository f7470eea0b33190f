"""The ingest door's parts on their own: CloudEvent checks per type, Standard Webhooks signatures,
one source per request, the production rule for sources without a secret (the whole path over TCP
is tests/e2e/test_ingest.py)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from services.gateway import ingest
from services.gateway.settings import Settings
from shared.ingest import envelope, signing
from shared.ingest.data import DATA_MODELS
from shared.ingest.errors import SignatureRefused, SourceNotConfigured, SourcesMixed, TooManyEvents


def cloudevent(kind: str, data: object, **extra: object) -> dict[str, object]:
    return {"specversion": "1.0", "id": "e-1", "source": "mosaic", "type": kind, "data": data, **extra}


@pytest.mark.parametrize(
    ("element", "locs"),
    [
        (cloudevent("review.held", {"la_reference": "A", "held_on": "2026-02-30"}), [["data", "held_on"]]),
        (cloudevent("review.held", {"la_reference": "A", "held_on": "2026-02-03", "participation_code": "PN9"}),
         [["data", "participation_code"]]),
        (cloudevent("review.held", {"held_on": "2026-02-03"}), [["data", "la_reference"]]),
        (cloudevent("review.held", {"la_reference": "A", "held_on": "2026-02-03", "dob": "2010-01-01"}),
         [["data", "dob"]]),
        (cloudevent("child.updated", {"la_reference": "A"}), [["data"]]),
        (cloudevent("child.updated", {"la_reference": "A", "dob": "2010-01-01"}), [["data", "dob"]]),
        ({**cloudevent("child.updated", {"la_reference": "A", "sex": "male"}), "datacontenttype": "text/xml"},
         [["datacontenttype"]]),
        (cloudevent("midway.held", {}), [["type"]]),
        ({**cloudevent("child.updated", {"la_reference": "A", "sex": "female"}), "specversion": "0.3"},
         [["specversion"]]),
        ({**cloudevent("child.updated", {"la_reference": "A", "sex": "female"}), "time": "yesterday"}, [["time"]]),
        ({**cloudevent("child.updated", {"la_reference": "A", "sex": "female"}), "time": "2026-01-01T10:00:00"},
         [["time"]]),
        ({k: v for k, v in cloudevent("child.updated", {"la_reference": "A", "sex": "x"}).items() if k != "source"},
         [["source"], ["data", "sex"]]),
        (cloudevent("care_period.started", {"la_reference": "A", "started_on": "2026-01-01"}),
         [["data", "legal_status"]]),
        ({k: v for k, v in cloudevent("iro.allocated", {}).items() if k != "data"}, [["data"]]),
        ("not an object", [[]]),
    ],
)  # fmt: skip
def test_an_event_is_refused_naming_each_bad_field(element, locs):
    refused = envelope.check(element)
    assert isinstance(refused, envelope.Refused)
    assert [error["loc"] for error in refused.errors] == locs


def test_every_type_has_a_model_and_a_good_event_passes_with_its_time_in_utc():
    assert sorted(DATA_MODELS) == sorted([
        "child.registered", "care_period.started", "placement.changed", "care_period.ended", "iro.allocated",
        "review.held", "case_note.recorded", "legal_status.changed", "child.updated",
    ])  # fmt: skip
    checked = envelope.check(
        cloudevent("placement.changed", {"la_reference": "A", "changed_on": "2026-01-02", "placement_type": "U5"},
                   time="2026-01-02T09:30:00+01:00")
    )  # fmt: skip
    assert isinstance(checked, envelope.Checked)
    assert checked.time == dt.datetime(2026, 1, 2, 8, 30, tzinfo=dt.UTC)
    assert (checked.data.placement_type, checked.data.unplanned) == ("U5", False)


def test_a_body_is_read_as_its_content_type_says():
    assert envelope.elements(b'{"a": 1}', batch=False) == [{"a": 1}]
    assert envelope.elements(b"[1, 2]", batch=True) == [1, 2]
    for body, batch in ((b"[1]", False), (b"{}", True), (b"{", False), (b"[" * 100_000, True)):
        with pytest.raises(envelope.BodyUnreadable):
            envelope.elements(body, batch=batch)


def test_the_id_and_source_that_key_the_inbox_are_usable_strings_or_none():
    assert envelope.id_of({"id": "x"}) == "x"
    assert [envelope.id_of(e) for e in ({"id": ""}, {"id": 7}, {"id": "x" * 256}, [], None)] == [None] * 5


def test_one_source_per_request_and_the_first_that_differs_is_named():
    assert ingest.source_of_request([{"source": "lcs"}, {"source": "lcs"}]) == "lcs"
    for elements, index in (([{"source": "lcs"}, {"source": "mosaic"}], 1), ([{"source": "lcs"}, {}], 1),
                            ([{}, {"source": "lcs"}], 0)):  # fmt: skip
        with pytest.raises(SourcesMixed) as refused:
            ingest.source_of_request(elements)
        assert refused.value.loc == ("body", index, "source")


def test_a_signature_verifies_with_any_active_secret_of_the_source_and_nothing_else():
    old, new, other = signing.new_secret(), signing.new_secret(), signing.new_secret()
    settings = Settings(env="test", ingest_secrets={"lcs": [old, new]})
    body = json.dumps([cloudevent("child.updated", {"la_reference": "A", "sex": "female"})]).encode()
    for secret in (old, new):
        ingest.check_signature(settings, "lcs", body, signing.headers_for(body, secret))
    stale = signing.headers_for(body, new, timestamp=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=301))
    early = signing.headers_for(body, new, timestamp=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=301))
    for headers in (signing.headers_for(body, other), stale, early, {}, {**signing.headers_for(body, new),
                    "webhook-signature": "garbage"}):  # fmt: skip
        with pytest.raises(SignatureRefused):
            ingest.check_signature(settings, "lcs", body, headers)
    with pytest.raises(SignatureRefused):
        ingest.check_signature(settings, "lcs", body + b" ", signing.headers_for(body, new))


def test_production_refuses_a_source_without_a_secret_and_the_development_secret():
    production = Settings.model_construct(env="production", ingest_secrets={})
    with pytest.raises(SourceNotConfigured):
        ingest.check_signature(production, "mosaic", b"[]", signing.headers_for(b"[]", signing.DEVELOPMENT_SECRET))
    assert Settings(env="test").secrets_of("anything") == [signing.DEVELOPMENT_SECRET]
    production_settings = {
        "env": "production", "oidc_jwks_url": "https://login.council.gov.uk/jwks",
        "jwt_issuer": "https://login.council.gov.uk", "jwt_audience": "iro-footprint", "cursor_secret": "c" * 40,
        "internal_token_key": "k" * 40,
    }  # fmt: skip
    assert Settings(**production_settings).secrets_of("mosaic") == []  # configured nowhere: refused
    with pytest.raises(ValueError, match="development ingest secret"):
        Settings(**production_settings, ingest_secrets={"mosaic": [signing.DEVELOPMENT_SECRET]})


def test_a_batch_over_the_count_limit_is_413():
    settings = Settings(env="test", max_batch_events=2)
    ingest.check_count(settings, [{}, {}])
    with pytest.raises(TooManyEvents) as refused:
        ingest.check_count(settings, [{}, {}, {}])
    assert refused.value.status == 413


def test_a_signature_made_with_a_local_time_is_the_same_as_with_utc():
    settings = Settings(env="test")
    body = b'[{"id": "x"}]'
    paris = dt.timezone(dt.timedelta(hours=1))
    now = dt.datetime.now(paris)
    local = signing.headers_for(body, signing.DEVELOPMENT_SECRET, msg_id="m", timestamp=now)
    assert local == signing.headers_for(body, signing.DEVELOPMENT_SECRET, msg_id="m", timestamp=now.astimezone(dt.UTC))
    ingest.check_signature(settings, "mosaic", body, local)
