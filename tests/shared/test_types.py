"""The shared field types (shared/types.py): what each accepts, what it refuses and with which message."""

import datetime as dt
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from shared import types
from shared.errors import DateInFuture, InvalidField
from shared.pagination import NOT_OURS, decode_cursor, encode_cursor, seal, unseal

SECRET = "a-test-secret-of-some-length-0123456789"


def refusal(kind: Any, value: Any) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(kind).validate_python(value)
    [error] = caught.value.errors()
    return error["type"], error["msg"]


def test_integers_stay_within_bigint():
    assert TypeAdapter(types.Int64).validate_python(-(2**63)) == -(2**63)
    assert TypeAdapter(types.Seq).validate_python("9223372036854775807") == 2**63 - 1
    assert refusal(types.Seq, "99999999999999999999") == (
        "less_than_equal",
        "Input should be less than or equal to 9223372036854775807",
    )
    assert refusal(types.Seq, -1) == ("greater_than_equal", "Input should be greater than or equal to 0")
    assert refusal(types.PositiveSeq, 0) == ("greater_than_equal", "Input should be greater than or equal to 1")


def test_text_types_refuse_nul_and_keep_their_lengths():
    assert TypeAdapter(types.Line).validate_python("Team 2") == "Team 2"
    assert refusal(types.Line, "a\x00b") == ("nul_character", "must not contain a NUL character")
    assert refusal(types.Code, "x" * 41) == ("string_too_long", "String should have at most 40 characters")
    assert refusal(types.Reference, "x" * 65) == ("string_too_long", "String should have at most 64 characters")
    assert refusal(types.Paragraph, "") == ("string_too_short", "String should have at least 1 character")
    assert TypeAdapter(types.Text).validate_python("x" * 20_000) == "x" * 20_000


def test_refuse_nul_looks_inside_containers_and_keys():
    assert types.refuse_nul({"a": ["b", ("c",)]}) == {"a": ["b", ("c",)]}
    for value in (["ok", "a\x00"], {"k\x00": "v"}, {"k": {"n": "\x00"}}, {"s\x00"}):
        with pytest.raises(ValueError, match="NUL"):
            types.refuse_nul(value)


@pytest.mark.parametrize("value", [1335830400, "1335830400", "2012-05-01T00:00:00", "2012-05-01T00:00:00Z",
                                   "2012-5-1", "20120501", dt.datetime(2012, 5, 1)])  # fmt: skip
def test_a_date_is_yyyy_mm_dd_and_nothing_else(value):
    assert refusal(types.Date, value)[0] == "date_format"


def test_a_date_is_within_1900_and_2199():
    assert TypeAdapter(types.Date).validate_python("2012-05-01") == dt.date(2012, 5, 1)
    assert TypeAdapter(types.Date).validate_python(dt.date(2012, 5, 1)) == dt.date(2012, 5, 1)
    assert refusal(types.Date, "1899-12-31") == ("date_range", "must be between 1900-01-01 and 2199-12-31")
    assert refusal(types.Date, "2200-01-01") == ("date_range", "must be between 1900-01-01 and 2199-12-31")
    assert refusal(types.Date, "2022-02-30")[0] == "date_from_datetime_parsing"


def test_a_date_of_birth_is_from_1900_and_not_in_the_future_and_never_echoed():
    assert TypeAdapter(types.DateOfBirth).validate_python("1900-01-01") == dt.date(1900, 1, 1)
    assert refusal(types.DateOfBirth, "1899-12-31") == (
        "date_of_birth_range",
        "a date of birth must be on or after 1900-01-01",
    )
    today = dt.date(2022, 6, 1)
    types.check_date_of_birth(today, today=today)
    with pytest.raises(DateInFuture) as caught:
        types.check_date_of_birth(dt.date(2022, 6, 2), today=today)
    assert caught.value.type == "date-in-future"
    assert caught.value.extras["errors"] == [
        {"loc": ["body", "date_of_birth"], "msg": "A date of birth cannot be in the future.", "type": "domain_rule"}
    ]


def test_a_timestamp_needs_a_zone_and_a_utc_year_from_1_to_9999_and_comes_back_in_utc():
    parsed = TypeAdapter(types.Timestamp).validate_python("2022-01-20T10:00:00+01:00")
    assert parsed == dt.datetime(2022, 1, 20, 9, tzinfo=dt.UTC) and parsed.tzinfo == dt.UTC
    assert TypeAdapter(types.Timestamp).validate_python("2022-01-20T10:00:00.123456Z").microsecond == 123456
    overflow = ("timestamp_range", "must be within the years 1 to 9999 in UTC")
    assert refusal(types.Timestamp, "0001-01-01T00:00:00+14:00") == overflow
    assert refusal(types.Timestamp, "9999-12-31T23:00:00-05:00") == overflow
    no_zone = "must be an RFC 3339 timestamp with a time zone (e.g. 2022-01-20T10:00:00Z)"
    assert refusal(types.Timestamp, "2022-01-20T10:00:00") == ("timestamp_format", no_zone)
    assert refusal(types.Timestamp, 1642672800) == ("timestamp_format", no_zone)
    assert refusal(types.Timestamp, dt.datetime(2022, 1, 20))[0] == "timezone_aware"


def test_a_cursor_round_trips_only_with_its_secret_and_its_list():
    values = [dt.date(2022, 5, 1), types.INT64_MAX, "x"]
    cursor = encode_cursor(values, secret=SECRET, scope="/v1/decisions")
    assert decode_cursor(cursor, secret=SECRET, scope="/v1/decisions") == values
    for token, secret, scope in [
        (cursor, "another-secret", "/v1/decisions"),
        (cursor, SECRET, "/v1/reviews"),
        (cursor + "!!!!", SECRET, "/v1/decisions"),
        (cursor + "AAAA", SECRET, "/v1/decisions"),
        ("W3sidSI6IDV9XQ", SECRET, "/v1/decisions"),
        (seal([{"u": 5}], secret=SECRET, scope="/v1/decisions"), SECRET, "/v1/decisions"),  # signed, but not ours
    ]:
        with pytest.raises(InvalidField) as caught:
            decode_cursor(token, secret=secret, scope=scope)
        assert caught.value.extras["errors"][0]["loc"] == ["query", "cursor"]
        assert caught.value.extras["errors"][0]["msg"] == NOT_OURS
    assert unseal(seal({"after_seq": 3}, secret=SECRET, scope="s"), secret=SECRET, scope="s") == {"after_seq": 3}
