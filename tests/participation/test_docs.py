"""docs/participation.md stays true to the code: every list value, question and event type is in it."""

from pathlib import Path

import pytest

from services.participation import rules
from services.participation.settings import Settings
from shared.footprint import events
from shared.settings import env_names

DOC = (Path(__file__).resolve().parents[2] / "docs" / "participation.md").read_text()

LISTS = {
    "methods": rules.METHODS,
    "relationships": rules.PARENT_RELATIONSHIPS,
    "parent participation": rules.PARENT_PARTICIPATION,
    "respondents": rules.RESPONDENTS,
    "channels": rules.CHANNELS,
}


@pytest.mark.parametrize("name", sorted(LISTS))
def test_every_value_of_each_list_is_documented_with_its_meaning(name):
    missing = [
        f"`{value}` | {meaning}" for value, meaning in LISTS[name].items() if f"`{value}` | {meaning}" not in DOC
    ]
    assert missing == []


def test_codes_default_questions_answers_and_events_are_documented():
    assert all(f"| {code} |" in DOC for code in rules.CODES)
    assert all(f"`{q.key}` | {q.text}" in DOC for q in rules.DEFAULT_QUESTIONS)
    assert all(answer in DOC for answer in rules.ANSWERS)
    written = [
        name
        for name, cls in events.EVENT_TYPES.items()
        if any(module.startswith("services.participation.") for module in cls.written_by)
    ]
    assert sorted(written) == [
        "advocacy.referred", "advocacy.updated", "feedback.received", "participation.flagged",
        "participation.recorded", "participation.replaced",
    ]  # fmt: skip
    assert [event for event in written if f"`{event}`" not in DOC] == []


def test_the_services_own_variables_are_documented():
    own = sorted(name for name in env_names(Settings) if name.startswith("PARTICIPATION_"))
    assert own == ["PARTICIPATION_QUESTIONS"]
    assert all(f"`{name}`" in DOC for name in own)
