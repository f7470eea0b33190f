"""Issue 10, faults 3, 4, 9 and 12 (dates), in their whole kind: every query parameter and body
field is checked by its declared type and range before SQL sees it, and a stream never answers 200
with nothing after it.

Driven through the gateway, with the real services behind it over TCP, against the real database
(tests/gateway/conftest.py). Each refusal is a 422 naming the field in `errors[].loc`, and nothing
is written."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from shared import db
from shared.footprint.models import Event
from shared.settings import DEVELOPMENT_CURSOR_SECRET, CommonSettings
from tests.gateway.conftest import Gateway, platform

NIL = uuid.UUID(int=0)
BEYOND_64_BITS = "99999999999999999999"


@pytest.fixture
async def gw(session, database_url) -> AsyncIterator[Gateway]:
    import datetime as dt

    async with platform(session, database_url, today=dt.date(2022, 6, 1)) as gateway:
        yield gateway


async def head(session) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(Event.seq), 0))))


async def refusals(gw: Gateway, calls: list[tuple[str, str, Any]]) -> list[tuple[str, int, list[list[Any]]]]:
    """Each call's path, status and the `loc` of each error."""
    out = []
    for method, path, body in calls:
        response = await gw.call(method, path, body)
        problem = response.headers.get("content-type") == "application/problem+json"
        locs = [error["loc"] for error in response.json().get("errors", [])] if problem else []
        out.append((path, response.status_code, locs))
    return out


def expect(calls: list[tuple[str, str, Any]], locs: list[list[Any]]) -> list[tuple[str, int, list[list[Any]]]]:
    return [(path, 422, [loc]) for (_, path, _), loc in zip(calls, locs, strict=True)]


def b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# Every list (a `cursor` parameter), with a path that reaches it.
LISTS = [
    "/v1/iros",
    "/v1/children",
    f"/v1/children/{NIL}/reviews",
    "/v1/reviews",
    "/v1/decisions",
    f"/v1/children/{NIL}/midway-reviews",
    f"/v1/children/{NIL}/case-notes",
    "/v1/escalations",
    "/v1/commendations",
    f"/v1/participation?child_id={NIL}",
    "/v1/feedback",
    "/v1/advocacy-referrals",
    "/v1/footprint",
    "/v1/footprint/export",
]


def with_query(path: str, query: str) -> str:
    if not query:
        return path
    return f"{path}{'&' if '?' in path else '?'}{query}"


# --- Fault 3: cursors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cursor",
    [
        "W3sidSI6IDV9XQ",  # [{"u": 5}]: well-formed, never issued
        b64('[{"d":"2020-01-01"},{"u":5}]'),
        b64('{"after_seq": 5}'),  # the footprint's old, unsigned shape
        b64('[{"u":"00000000-0000-0000-0000-000000000000"}]') + "." + "A" * 22,  # a forged MAC
        "zzz",
    ],
)
async def test_a_cursor_the_api_did_not_give_out_is_a_422_on_cursor_for_every_list(gw, session, cursor):
    before = await head(session)
    calls = [("GET", with_query(path, f"cursor={cursor}"), None) for path in LISTS]
    assert await refusals(gw, calls) == expect(calls, [["query", "cursor"]] * len(LISTS))
    assert await head(session) == before


async def test_a_real_cursor_works_and_is_refused_with_junk_appended_or_on_another_list(gw, session):
    for n in range(3):
        await gw.ok("POST", "/v1/iros", {"name": f"I{n}", "email": f"i{n}@council.gov.uk", "fte": 1}, status=201)
    first = await gw.ok("GET", "/v1/iros?limit=1")
    cursor = first["next_cursor"]
    second = await gw.ok("GET", f"/v1/iros?limit=1&cursor={cursor}")
    assert second["items"][0]["id"] != first["items"][0]["id"]
    events = await gw.ok("GET", "/v1/footprint?limit=1")
    footprint = events["next_cursor"]
    following = await gw.ok("GET", f"/v1/footprint?limit=1&cursor={footprint}")
    assert following["items"][0]["seq"] == events["items"][0]["seq"] + 1  # the log has no gaps
    calls = [
        ("GET", f"/v1/iros?cursor={cursor}!!!!", None),  # junk appended: today read as if whole
        ("GET", f"/v1/iros?cursor={cursor}AAAA", None),
        ("GET", f"/v1/iros?cursor={cursor[:-1]}", None),
        ("GET", f"/v1/children?cursor={cursor}", None),  # signed, but for another list
        ("GET", f"/v1/footprint?cursor={footprint}!!!!", None),
        ("GET", f"/v1/footprint?cursor={cursor}", None),  # a service list's cursor on the footprint
        ("GET", f"/v1/iros?cursor={footprint}", None),
        ("GET", f"/v1/footprint?cursor={footprint}&after_seq=1", None),  # both
        ("GET", f"/v1/iros?cursor={'A' * 2049}", None),  # over the length limit
    ]
    assert await refusals(gw, calls) == expect(calls, [["query", "cursor"]] * len(calls))


def test_production_refuses_the_development_cursor_secret():
    production = {
        "env": "production",
        "oidc_jwks_url": "https://login.council.gov.uk/jwks",
        "jwt_issuer": "https://login.council.gov.uk",
        "jwt_audience": "iro-footprint",
        "internal_token_key": "a-production-internal-token-key-of-40-chars",
    }
    with pytest.raises(ValueError, match="IRO_CURSOR_SECRET of your own"):
        CommonSettings(**production)
    with pytest.raises(ValueError, match="at least 32 characters"):
        CommonSettings(**production, cursor_secret="short")
    own = CommonSettings(**production, cursor_secret="x" * 40)
    assert own.cursor_secret.get_secret_value() == "x" * 40
    assert CommonSettings().cursor_secret.get_secret_value() == DEVELOPMENT_CURSOR_SECRET


# --- Fault 3: integers, text, dates, timestamps in query parameters -------------------------------


async def test_integers_beyond_their_range_are_a_422_naming_the_parameter(gw, session):
    before = await head(session)
    calls = [
        ("GET", f"/v1/footprint?after_seq={BEYOND_64_BITS}", None),
        ("GET", "/v1/footprint?after_seq=-1", None),
        ("GET", f"/v1/footprint/export?after_seq={BEYOND_64_BITS}", None),
        ("GET", f"/v1/footprint/verify?from_seq={BEYOND_64_BITS}", None),
        ("GET", f"/v1/footprint/verify?to_seq={BEYOND_64_BITS}", None),
        ("GET", f"/v1/escalations?stage={BEYOND_64_BITS}", None),
        ("GET", f"/v1/iros?limit={BEYOND_64_BITS}", None),
        ("GET", f"/v1/footprint?limit={BEYOND_64_BITS}", None),
    ]
    locs = [["query", "after_seq"]] * 3 + [["query", "from_seq"], ["query", "to_seq"], ["query", "stage"]]
    assert await refusals(gw, calls) == expect(calls, [*locs, ["query", "limit"], ["query", "limit"]])
    assert await head(session) == before


async def test_nul_in_any_text_filter_is_a_422_naming_the_parameter(gw, session):
    text_filters = [
        ("/v1/children", "la_reference"),
        ("/v1/iros", "email"),
        ("/v1/escalations", "category"),
        ("/v1/escalations", "team"),
        ("/v1/commendations", "team"),
        ("/v1/feedback", "respondent"),
        ("/v1/footprint", "actor"),
        ("/v1/footprint", "service"),
        ("/v1/footprint/export", "actor"),
    ]
    calls = [("GET", f"{path}?{name}=a%00b", None) for path, name in text_filters]
    calls.append(("GET", "/v1/footprint?type=a%00b", None))  # lists: the loc names the item
    calls.append(("GET", "/v1/footprint/summary?group_by=a%00b", None))
    locs = [["query", name] for _, name in text_filters]
    assert await refusals(gw, calls) == [
        *expect(calls[:-2], locs),
        ("/v1/footprint?type=a%00b", 422, [["query", "type", 0]]),
        ("/v1/footprint/summary?group_by=a%00b", 422, [["query", "group_by", 0]]),
    ]
    response = await gw.call("GET", "/v1/children?la_reference=a%00b")
    assert response.json()["errors"][0]["msg"] == "must not contain a NUL character"


DATE_PARAMETERS = [
    ("/v1/reviews", "due_from", ""),
    ("/v1/reviews", "due_to", ""),
    ("/v1/decisions", "due_before", ""),
    ("/v1/stats/timeliness", "from", "to=2023-03-31"),
    ("/v1/stats/timeliness", "to", "from=2022-04-01"),
    ("/v1/stats/caseloads", "on", ""),
    ("/v1/stats/caseloads", "as_of", ""),
    ("/v1/stats/children", "from", "to=2023-03-31"),
    ("/v1/stats/children", "to", "from=2022-04-01"),
    ("/v1/stats/record-keeping", "from", "to=2023-03-31"),
    ("/v1/stats/record-keeping", "to", "from=2022-04-01"),
    ("/v1/reports/annual", "from", "to=2023-03-31"),
    ("/v1/reports/annual", "to", "from=2022-04-01"),
    ("/v1/reports/annual", "age_on", "from=2022-04-01&to=2023-03-31"),
    ("/v1/reports/annual.html", "from", "to=2023-03-31"),
    ("/v1/reports/annual.html", "to", "from=2022-04-01"),
    ("/v1/commendations", "from", ""),
    ("/v1/commendations", "to", ""),
    ("/v1/stats/escalations", "from", "to=2023-03-31"),
    ("/v1/stats/escalations", "to", "from=2022-04-01"),
    ("/v1/feedback", "from", ""),
    ("/v1/feedback", "to", ""),
    ("/v1/stats/participation", "from", "to=2023-03-31"),
    ("/v1/stats/participation", "to", "from=2022-04-01"),
    ("/v1/stats/participation", "age_on", "from=2022-04-01&to=2023-03-31"),
    ("/v1/stats/feedback", "from", "to=2023-03-31"),
    ("/v1/stats/feedback", "to", "from=2022-04-01"),
    ("/v1/stats/advocacy", "from", "to=2023-03-31"),
    ("/v1/stats/advocacy", "to", "from=2022-04-01"),
    ("/v1/footprint", "from", ""),
    ("/v1/footprint", "to", ""),
    ("/v1/footprint/export", "from", ""),
    ("/v1/footprint/summary", "from", ""),
    ("/v1/footprint/summary", "to", ""),
]


@pytest.mark.parametrize(
    ("value", "msg"),
    [
        ("1335830400", "must be a date as YYYY-MM-DD (e.g. 2022-01-20)"),  # a Unix timestamp
        ("2012-05-01T00:00:00", "must be a date as YYYY-MM-DD (e.g. 2022-01-20)"),
        ("0001-01-01", "must be between 1900-01-01 and 2199-12-31"),
        ("9999-12-31", "must be between 1900-01-01 and 2199-12-31"),
    ],
)
async def test_a_date_parameter_takes_yyyy_mm_dd_within_range_only(gw, value, msg):
    calls = [("GET", with_query(f"{path}?{name}={value}", other), None) for path, name, other in DATE_PARAMETERS]
    assert await refusals(gw, calls) == expect(calls, [["query", name] for _, name, _ in DATE_PARAMETERS])
    response = await gw.call("GET", f"/v1/reviews?due_from={value}")
    assert response.json()["errors"][0]["msg"] == msg


async def test_a_date_parameter_in_range_is_accepted(gw):
    calls = [("GET", with_query(f"{path}?{name}=2022-05-01", other), None) for path, name, other in DATE_PARAMETERS]
    assert [(path, status) for path, status, _ in await refusals(gw, calls) if status != 200] == []


@pytest.mark.parametrize(
    ("value", "msg"),
    [
        ("0001-01-01T00:00:00%2B14:00", "must be within the years 1 to 9999 in UTC"),  # overflows into year 0
        ("9999-12-31T23:00:00-05:00", "must be within the years 1 to 9999 in UTC"),
        ("2022-01-20T10:00:00", "must be an RFC 3339 timestamp with a time zone (e.g. 2022-01-20T10:00:00Z)"),
        ("1642672800", "must be an RFC 3339 timestamp with a time zone (e.g. 2022-01-20T10:00:00Z)"),
    ],
)
async def test_a_timestamp_parameter_needs_a_zone_and_a_utc_year_from_1_to_9999(gw, session, value, msg):
    before = await head(session)
    calls = [
        ("GET", f"/v1/footprint?recorded_from={value}", None),
        ("GET", f"/v1/footprint?recorded_to={value}", None),
        ("GET", f"/v1/footprint/export?recorded_from={value}", None),
    ]
    locs = [["query", "recorded_from"], ["query", "recorded_to"], ["query", "recorded_from"]]
    assert await refusals(gw, calls) == expect(calls, locs)
    response = await gw.call("GET", f"/v1/footprint?recorded_from={value}")
    assert response.json()["errors"][0]["msg"] == msg
    assert await head(session) == before


async def test_a_timestamp_in_range_is_accepted_in_any_zone(gw, session):
    await gw.ok("POST", "/v1/iros", {"name": "T", "email": "t@council.gov.uk", "fte": 1}, status=201)
    since = await gw.ok("GET", "/v1/footprint?type=iro.registered&recorded_from=2000-01-01T00:00:00%2B14:00")
    assert since["items"][-1]["seq"] == await head(session)
    before = await gw.ok("GET", "/v1/footprint?type=iro.registered&recorded_to=2000-01-01T00:00:00Z")
    assert before["items"] == []


async def test_inverted_ranges_are_refused_naming_to(gw):
    calls = [
        ("GET", "/v1/footprint?from=2022-02-01&to=2022-01-01", None),
        ("GET", "/v1/footprint/summary?from=2022-02-01&to=2022-01-01", None),
        *[("GET", f"{path}?from=2022-02-01&to=2022-01-01", None) for path in PERIODS],
    ]
    assert await refusals(gw, calls) == expect(calls, [["query", "to"]] * len(calls))


PERIODS = (
    "/v1/stats/timeliness", "/v1/stats/children", "/v1/stats/record-keeping", "/v1/stats/escalations",
    "/v1/stats/participation", "/v1/stats/feedback", "/v1/stats/advocacy", "/v1/reports/annual",
    "/v1/reports/annual.html",
)  # fmt: skip


async def test_a_period_of_ten_years_or_more_is_refused_naming_to_and_one_just_under_is_not(gw):
    ten_years = [("GET", f"{path}?from=2012-04-01&to=2022-04-01", None) for path in PERIODS]
    assert await refusals(gw, ten_years) == expect(ten_years, [["query", "to"]] * len(ten_years))
    under = [("GET", f"{path}?from=2012-04-02&to=2022-04-01", None) for path in PERIODS]
    assert [(path, status) for path, status, _ in await refusals(gw, under) if status != 200] == []


async def test_a_collection_year_is_a_whole_year_number_from_1990_to_2200(gw):
    calls = [
        ("GET", f"{path}?collection_year={year}", None)
        for path in ("/v1/exports/ssda903/reviews.csv", "/v1/exports/ssda903/problems")
        for year in ("twenty", "1989", "2201", "2022.5")
    ]
    assert await refusals(gw, calls) == expect(calls, [["query", "collection_year"]] * len(calls))


# --- Fault 9: verify's range ----------------------------------------------------------------------


async def test_verify_refuses_an_inverted_range_or_a_start_past_the_head(gw, session):
    now = await head(session)
    calls = [
        ("GET", "/v1/footprint/verify?from_seq=10&to_seq=2", None),
        ("GET", f"/v1/footprint/verify?from_seq={now + 2}", None),
    ]
    assert await refusals(gw, calls) == expect(calls, [["query", "to_seq"], ["query", "from_seq"]])
    polled = await gw.ok("GET", f"/v1/footprint/verify?from_seq={now + 1}")
    assert (polled["ok"], polled["checked"], polled["head_seq"]) == (True, 0, now or None)
    assert (await gw.ok("GET", f"/v1/footprint/verify?from_seq={now + 1}&to_seq={now + 5}"))["checked"] == 0


# --- Fault 3 and 12: body fields ------------------------------------------------------------------


async def test_body_dates_take_yyyy_mm_dd_only_and_dates_of_birth_are_never_echoed(gw, session):
    before = await head(session)
    child = lambda dob: {"la_reference": "V1", "date_of_birth": dob}  # noqa: E731
    calls = [
        ("POST", "/v1/children", child(1335830400)),  # a Unix timestamp
        ("POST", "/v1/children", child("2012-05-01T00:00:00")),
        ("POST", "/v1/children", child("2012-05-01T00:00:00Z")),
        ("POST", "/v1/children", child("1899-12-31")),
        ("POST", "/v1/children", child("2022-06-02")),  # tomorrow, by the platform's clock
        ("POST", "/v1/children", {"la_reference": "a\x00b", "date_of_birth": "2012-05-01"}),
        (
            "POST",
            "/v1/escalations",
            {
                "kind": "alert",
                "scope": "service",
                "category": "other",
                "team": "T",
                "summary": "S",
                "raised_on": 1654041600,
            },
        ),
        (
            "POST",
            "/v1/escalations",
            {
                "kind": "alert",
                "scope": "service",
                "category": "other",
                "team": "T",
                "summary": "S",
                "raised_on": "9999-12-31",
            },
        ),
        ("POST", "/v1/commendations", {"team": "T", "summary": "S", "raised_on": "2022-05-01T00:00:00"}),
        ("POST", "/v1/feedback", {"respondent": "child", "channel": "online", "received_on": "0001-01-01"}),
        ("POST", "/v1/feedback", {"respondent": "child", "channel": "online", "answers": {"q": "a\x00"}}),
        ("POST", "/v1/advocacy-referrals", {"child_id": str(NIL), "referred_on": 1654041600, "provider": "P"}),
        ("POST", f"/v1/children/{NIL}/care-periods", {"started_on": "9999-12-31", "legal_status": "C2"}),
        ("POST", f"/v1/reviews/{NIL}/held", {"held_on": "2022-05-01", "meeting_dates": ["2022-05-01T10:00:00"]}),
        ("POST", f"/v1/reviews/{NIL}/decisions", {"text": "T", "owner": "O", "due_on": 1654041600}),
    ]
    locs = [["body", "date_of_birth"]] * 5 + [
        ["body", "la_reference"],
        ["body", "raised_on"],
        ["body", "raised_on"],
        ["body", "raised_on"],
        ["body", "received_on"],
        ["body", "answers", "q"],
        ["body", "referred_on"],
        ["body", "started_on"],
        ["body", "meeting_dates", 0],
        ["body", "due_on"],
    ]
    assert await refusals(gw, calls) == expect(calls, locs)
    for dob in (1335830400, "2012-05-01T00:00:00", "1899-12-31", "2022-06-02"):
        response = await gw.call("POST", "/v1/children", child(dob))
        assert str(dob) not in response.text, response.text
    future = (await gw.call("POST", "/v1/children", child("2022-06-02"))).json()["errors"]
    assert future == [{"loc": ["body", "date_of_birth"], "msg": "A date of birth cannot be in the future.",
                       "type": "domain_rule"}]  # fmt: skip
    too_old = (await gw.call("POST", "/v1/children", child("1899-12-31"))).json()["errors"][0]["msg"]
    assert too_old == "a date of birth must be on or after 1900-01-01"
    assert await head(session) == before  # nothing written
    assert (await gw.ok("GET", "/v1/children?la_reference=V1"))["items"] == []
    born_today = await gw.ok("POST", "/v1/children", child("2022-06-01"), status=201)
    assert born_today["date_of_birth"] == "2022-06-01"


# --- Fault 4: the export answers an error, never a 200 with nothing ---------------------------------


async def test_the_export_refuses_bad_filters_before_the_response_starts(gw, session):
    await gw.ok("POST", "/v1/iros", {"name": "E", "email": "e@council.gov.uk", "fte": 1}, status=201)
    for accept in ("application/x-ndjson", "text/csv"):
        response = await gw.call("GET", f"/v1/footprint/export?after_seq={BEYOND_64_BITS}", headers={"Accept": accept})
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["loc"] for e in response.json()["errors"]] == [["query", "after_seq"]]
    whole = await gw.call("GET", "/v1/footprint/export?type=iro.registered")
    *events, trailer = [json.loads(line) for line in whole.text.splitlines()]
    assert trailer == {"complete": True, "count": len(events), "head_seq": await head(session)}
    assert [e["type"] for e in events][-1:] == ["iro.registered"]


async def test_the_export_answers_a_problem_when_the_database_fails_before_the_first_event(gw, database_url):
    unreachable = make_url(db.async_url(database_url)).set(database="iro_no_such_database")
    engine = create_async_engine(unreachable)
    try:
        gw.app.state.audit_sessions = db.session_factory(engine)
        for accept in ("application/x-ndjson", "text/csv"):
            response = await gw.call("GET", "/v1/footprint/export", headers={"Accept": accept})
            assert response.status_code in (500, 503)  # 503 once the database's absence is classed as such
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["status"] == response.status_code
    finally:
        await engine.dispose()


# --- The whole kind: every query parameter of every GET the gateway documents ----------------------


PATH_VALUES = {"list": "placement-types"}  # path parameters that are not ids


def valid_value(schema: dict[str, Any]) -> str:
    options = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    first = options[0] if options else {}
    if "$ref" in first or "enum" in first:
        return ""  # left out: optional enums are not filled in
    kind, fmt = first.get("type"), first.get("format")
    if fmt == "date":
        return "2022-05-01"
    if fmt == "date-time":
        return "2022-05-01T00:00:00Z"
    if fmt == "uuid":
        return str(NIL)
    if kind == "integer":
        return str(max(1, first.get("minimum", 1)))
    if kind == "boolean":
        return "true"
    return "x"


def bad_values(schema: dict[str, Any]) -> list[str]:
    """Values the parameter's type must refuse: a Unix time for a date, an unzoned or overflowing
    timestamp, an integer beyond 64 bits, NUL in text."""
    options = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    first = options[0] if options else {}
    if first.get("type") == "array":
        first = first.get("items", {})
    kind, fmt = first.get("type"), first.get("format")
    if "$ref" in first or "enum" in first or fmt == "uuid" or kind == "boolean":
        return []
    if fmt == "date":
        return ["1335830400", "2012-05-01T00:00:00", "0001-01-01"]
    if fmt == "date-time":
        return ["2022-05-01T00:00:00", "0001-01-01T00:00:00%2B14:00"]
    if kind == "integer":
        return [BEYOND_64_BITS]
    return ["a%00b"]


async def test_every_query_parameter_of_every_get_refuses_what_its_type_cannot_hold(gw, session):
    document = (await gw.client.get("/openapi.json")).json()
    before = await head(session)
    checked, wrong = 0, []
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if not path.startswith("/v1/") or get is None:
            continue
        concrete = path
        for parameter in get.get("parameters", []):
            if parameter["in"] == "path":
                value = PATH_VALUES.get(parameter["name"], str(NIL))
                concrete = concrete.replace("{" + parameter["name"] + "}", value)
        query = [p for p in get.get("parameters", []) if p["in"] == "query"]
        for target in query:
            for bad in bad_values(target["schema"]):
                others = [
                    f"{p['name']}={valid_value(p['schema'])}"
                    for p in query
                    if p is not target and p.get("required") and valid_value(p["schema"])
                ]
                url = with_query(f"{concrete}?{target['name']}={bad}", "&".join(others))
                response = await gw.call("GET", url, role="admin")
                problem = response.headers.get("content-type") == "application/problem+json"
                locs = [e["loc"][:2] for e in response.json().get("errors", [])] if problem else []
                checked += 1
                if (response.status_code, locs) != (422, [["query", target["name"]]]):
                    wrong.append((url, response.status_code, locs))
    assert wrong == []
    assert checked >= 80  # every list's cursor and limit, every date, timestamp, integer and text filter
    assert await head(session) == before


async def test_every_date_field_of_every_request_body_takes_yyyy_mm_dd_only(gw, session):
    document = (await gw.client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    before = await head(session)
    checked, wrong = 0, []
    for path, operations in document["paths"].items():
        concrete = path
        for name in [part[1:-1] for part in path.split("/") if part.startswith("{")]:
            concrete = concrete.replace("{" + name + "}", PATH_VALUES.get(name, str(NIL)))
        for method, operation in operations.items():
            ref = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if "$ref" not in ref:
                continue
            properties = schemas[ref["$ref"].split("/")[-1]].get("properties", {})
            for field, schema in properties.items():
                options = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
                first = options[0] if options else {}
                is_list = first.get("type") == "array"
                if (first.get("items", {}) if is_list else first).get("format") != "date":
                    continue
                for bad in (1335830400, "2012-05-01T00:00:00", "0001-01-01"):
                    response = await gw.call(method.upper(), concrete, {field: [bad] if is_list else bad}, role="admin")
                    problem = response.headers.get("content-type") == "application/problem+json"
                    locs = [e["loc"][:2] for e in response.json().get("errors", [])] if problem else []
                    checked += 1
                    if response.status_code != 422 or ["body", field] not in locs:
                        wrong.append((method, concrete, field, bad, response.status_code, locs))
    assert wrong == []
    assert checked >= 60  # every date of every body: dates of birth, raised_on, held_on, ...
    assert await head(session) == before
