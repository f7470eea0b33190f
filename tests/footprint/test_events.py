"""The footprint's event models (shared.footprint.events): one per type, payloads exactly as stored,
versioned, parsed back, and docs/events.md generated from them."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import re
import subprocess
import sys
import types
import typing
import uuid
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest
from pydantic import BaseModel, ValidationError

from services.escalations import consumers as escalations_consumers
from services.participation import consumers as participation_consumers
from shared.footprint import canonical, eventdocs, events

ROOT = Path(__file__).resolve().parents[2]
REVIEW = uuid.UUID("3f2b8c1e-7d4a-4e0b-9a51-2c6f0d8e9b17")
CHILD = uuid.UUID("a1c9e0f2-5b3d-4c7e-8f10-6d2e4b9a0c35")
PERIOD = uuid.UUID("0b7d5e3c-1a2f-4d6b-8e9c-7f4a3b2c1d00")
IRO = uuid.UUID("5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9")


def example_value(annotation: Any) -> Any:
    """A value of the annotated type, as a producer would pass it (python objects, not JSON)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return args[0]
    if origin in (typing.Union, types.UnionType):
        return example_value(next(arg for arg in args if arg is not type(None)))
    if origin is list:
        return [example_value(args[0])]
    if origin is dict:
        return {"listens": "always"}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return example(annotation)
    return {uuid.UUID: IRO, dt.date: dt.date(2024, 2, 29), str: "x", int: 3, bool: True}[annotation]


def example(cls: type[BaseModel]) -> Any:
    """An instance with every field set."""
    return cls(**{name: example_value(info.annotation) for name, info in cls.model_fields.items()})


ALL = sorted(events.EVENT_TYPES.items())


def test_the_registry_names_each_model_by_its_type_in_the_style_of_the_log():
    assert [name for name, _ in ALL] == [
        "advocacy.referred", "advocacy.updated", "care_period.ended", "care_period.started", "case_note.recorded",
        "child.record_viewed", "child.registered", "child.updated", "commendation.recorded", "decision.recorded",
        "decision.updated",
        "escalation.escalated", "escalation.raised", "escalation.referred_to_cafcass", "escalation.resolved",
        "escalation.responded", "escalation.withdrawn", "feedback.received", "ingest.rejected", "iro.allocated",
        "iro.registered", "iro.updated", "legal_status.changed", "midway_review.held", "participation.flagged",
        "participation.recorded", "participation.replaced", "placement.changed", "review.brought_forward",
        "review.cancelled", "review.held", "review.missed", "review.rearranged", "review.record_keeping_updated",
        "review.scheduled", "review.timetable_recomputed",
    ]  # fmt: skip
    for name, cls in ALL:
        assert cls.type == name
        assert re.fullmatch(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*", name), name
        assert cls.schema_version >= 1
        assert cls.written_by, name
        assert "schema_version" not in cls.model_fields
        undescribed = [field for field, info in cls.model_fields.items() if not info.description]
        assert undescribed == [], name


@pytest.mark.parametrize(("name", "cls"), ALL, ids=[name for name, _ in ALL])
def test_a_payload_is_the_producers_dict_as_the_log_normalises_it_plus_its_version(name, cls):
    event = example(cls)
    as_passed = event.model_dump()  # python values: dates, uuids, nested dicts, as producers wrote them
    payload = event.to_payload()
    assert payload == {**canonical.normalise_payload(as_passed), "schema_version": cls.schema_version}
    assert canonical.normalise_payload(payload) == payload  # already JSON: the append changes nothing
    assert events.parse(name, payload) == event
    legacy = {key: value for key, value in payload.items() if key != "schema_version"}
    assert events.parse(name, legacy) == event  # stored before versions existed: version 1


def test_dates_and_uuids_are_written_as_the_log_has_always_stored_them():
    held = events.ReviewHeld(
        review_id=REVIEW, care_period_id=PERIOD, child_id=CHILD, date_of_birth=dt.date(2012, 2, 29),
        held_on=dt.date(2022, 1, 20), sequence=1, kind="first", format="in_person", chaired_by_iro_id=IRO,
        chaired_by_child=None, in_time=True, statutory_due_on=dt.date(2022, 1, 20), late_reason=None,
    )  # fmt: skip
    assert held.to_payload() == {
        "review_id": "3f2b8c1e-7d4a-4e0b-9a51-2c6f0d8e9b17",
        "care_period_id": "0b7d5e3c-1a2f-4d6b-8e9c-7f4a3b2c1d00",
        "child_id": "a1c9e0f2-5b3d-4c7e-8f10-6d2e4b9a0c35",
        "date_of_birth": "2012-02-29",
        "held_on": "2022-01-20",
        "sequence": 1,
        "kind": "first",
        "format": "in_person",
        "chaired_by_iro_id": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
        "chaired_by_child": None,
        "in_time": True,
        "statutory_due_on": "2022-01-20",
        "late_reason": None,
        "schema_version": 1,
    }


def test_a_review_held_stored_before_versions_reads_as_version_1_with_typed_values():
    stored = {  # as the reviews service wrote it before this module existed
        "review_id": str(REVIEW), "care_period_id": str(PERIOD), "child_id": str(CHILD),
        "date_of_birth": "2012-02-29", "held_on": "2021-03-01", "sequence": 3, "kind": "subsequent",
        "format": "virtual", "chaired_by_iro_id": None, "chaired_by_child": "co_chair", "in_time": False,
        "statutory_due_on": "2021-02-26", "late_reason": "child_missing",
    }  # fmt: skip
    held = events.parse("review.held", stored)
    assert isinstance(held, events.ReviewHeld)
    assert (held.review_id, held.child_id, held.held_on, held.date_of_birth) == (
        REVIEW, CHILD, dt.date(2021, 3, 1), dt.date(2012, 2, 29)
    )  # fmt: skip
    assert (held.kind, held.format, held.chaired_by_child, held.in_time) == ("subsequent", "virtual", "co_chair", False)
    assert held.to_payload() == {**stored, "schema_version": 1}


def test_a_review_held_of_a_kind_no_producer_writes_is_refused():
    fields = example(events.ReviewHeld).model_dump()
    with pytest.raises(ValidationError, match="kind"):
        events.ReviewHeld(**{**fields, "kind": "initial"})
    with pytest.raises(ValidationError, match="kind"):
        events.parse("review.held", {**example(events.ReviewHeld).to_payload(), "kind": "initial"})


def test_a_field_no_producer_writes_or_a_missing_one_is_refused():
    registered = {"child_id": CHILD, "la_reference": "LA-1", "date_of_birth": dt.date(2012, 1, 1), "uasc": None}
    with pytest.raises(ValidationError, match="display_name"):
        events.ChildRegistered(**registered, display_name="A child")
    with pytest.raises(ValidationError, match="uasc"):
        events.parse("child.registered", {key: str(value) for key, value in registered.items() if key != "uasc"})


def test_a_partial_update_writes_only_the_fields_sent_and_null_when_sent_as_null():
    update = events.ReviewRecordKeepingUpdated(review_id=REVIEW, decisions_issued_on=dt.date(2022, 1, 26),
                                               record_issued_on=None)  # fmt: skip
    assert update.to_payload() == {
        "review_id": str(REVIEW), "decisions_issued_on": "2022-01-26", "record_issued_on": None, "schema_version": 1,
    }  # fmt: skip
    assert events.parse(update.type, update.to_payload()).model_fields_set == {
        "review_id", "decisions_issued_on", "record_issued_on",
    }  # fmt: skip
    assert events.IroUpdated(iro_id=IRO, fte="0.600").to_payload() == {
        "iro_id": str(IRO), "fte": "0.600", "schema_version": 1,
    }  # fmt: skip


def test_anonymous_feedback_has_no_review_id_key_at_all():
    fields = {
        "feedback_id": REVIEW, "respondent": "child", "channel": "paper", "received_on": dt.date(2024, 5, 1),
        "answers": {"listens": "always"}, "has_comment": False, "anonymous": True,
    }  # fmt: skip
    assert "review_id" not in events.FeedbackReceived(**fields, review_id=None).to_payload()
    about = events.FeedbackReceived(**{**fields, "anonymous": False}, review_id=REVIEW).to_payload()
    assert about["review_id"] == str(REVIEW)


class HeldV2(events.FootprintEvent):
    """A next version of a test type: `venue` added, `format` renamed `mode`."""

    type: ClassVar[str] = "thing.held"
    schema_version: ClassVar[int] = 2
    written_by: ClassVar[tuple[str, ...]] = ("tests",)

    held_on: dt.date
    mode: str | None
    venue: str | None


def _v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    payload = dict(payload)
    payload["mode"] = payload.pop("format")
    return {**payload, "venue": None}


def test_an_older_version_is_upgraded_and_a_newer_or_unknown_one_refused():
    registry = {"thing.held": HeldV2}
    upgrades = {("thing.held", 1): _v1_to_v2}
    old = {"held_on": "2022-01-20", "format": "virtual"}
    assert events.parse("thing.held", old, event_types=registry, upgrades=upgrades) == HeldV2(
        held_on=dt.date(2022, 1, 20), mode="virtual", venue=None
    )
    assert events.parse("thing.held", {**old, "schema_version": 1}, event_types=registry, upgrades=upgrades).mode == (
        "virtual"
    )
    current = HeldV2(held_on=dt.date(2022, 1, 20), mode=None, venue="home").to_payload()
    assert current["schema_version"] == 2
    assert events.parse("thing.held", current, event_types=registry, upgrades={}) == HeldV2(
        held_on=dt.date(2022, 1, 20), mode=None, venue="home"
    )
    with pytest.raises(events.EventParseError, match="schema_version 3"):
        events.parse("thing.held", {**current, "schema_version": 3}, event_types=registry, upgrades=upgrades)
    with pytest.raises(events.EventParseError, match="no upgrade from schema_version 1"):
        events.parse("thing.held", old, event_types=registry, upgrades={})
    with pytest.raises(events.EventParseError, match=r"unknown footprint event type 'thing\.held'"):
        events.parse("thing.held", old)


def test_every_version_change_has_its_upgrade_registered():
    missing = [
        (name, version)
        for name, cls in ALL
        for version in range(1, cls.schema_version)
        if (name, version) not in events.UPGRADES
    ]
    assert missing == []


def test_a_second_model_for_a_type_is_refused():
    with pytest.raises(ValueError, match=r"two models for review\.held"):

        @events.register
        class Again(events.FootprintEvent):
            type: ClassVar[str] = "review.held"
            written_by: ClassVar[tuple[str, ...]] = ("tests",)


def _source(module: str) -> str:
    return inspect.getsource(importlib.import_module(module))


@pytest.mark.parametrize(("name", "cls"), ALL, ids=[name for name, _ in ALL])
def test_who_writes_and_who_reads_each_event_is_true_of_the_code(name, cls):
    for module in cls.written_by:
        assert f"events.{cls.__name__}" in _source(module), f"{module} does not build {cls.__name__}"
    for module in cls.read_by:
        source = _source(module)
        assert f"events.{cls.__name__}" in source or f'"{name}"' in source, f"{module} does not read {name}"


def test_each_consumers_types_are_the_events_that_name_it_as_a_reader():
    for module in (escalations_consumers, participation_consumers):
        named = {name for name, cls in ALL if module.__name__ in cls.read_by}
        assert set(module.TYPES) == named


def test_docs_events_md_is_what_the_generator_writes():
    generated = subprocess.run(
        [sys.executable, "-m", "shared.footprint.eventdocs"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert generated == eventdocs.render()
    assert (ROOT / "docs" / "events.md").read_text() == generated, (
        "docs/events.md is stale: run `python -m shared.footprint.eventdocs > docs/events.md`"
    )
    assert "| `kind` | `first` \\| `second` \\| `subsequent` | always |" in generated
    assert all(f"\n## {name}\n" in generated for name, _ in ALL)
