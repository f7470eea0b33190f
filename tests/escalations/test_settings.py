"""The ladder and categories settings (`ESCALATIONS_LADDER`, `ESCALATIONS_CATEGORIES`)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from services.escalations.rules import Ladder, default_categories
from services.escalations.settings import Settings
from tests.conftest import app_client
from tests.escalations.conftest import body, make_app, register_child

HARINGEY = [
    {"stage": 0, "name": "Informal alert", "response_working_days": 10},
    {"stage": 1, "name": "Team Manager", "response_working_days": 10},
    {"stage": 2, "name": "Service Manager", "response_working_days": 10},
    {"stage": 3, "name": "Head of Service", "response_working_days": 10},
    {"stage": 4, "name": "Director", "response_working_days": 10},
]


def test_the_defaults_are_the_reference_ladder_and_categories():
    settings = Settings(env="test")
    assert settings.ladder == Ladder.default()
    assert settings.ladder.last == 5
    assert settings.categories == default_categories()


def test_a_four_stage_ladder_and_own_categories_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("ESCALATIONS_LADDER", json.dumps(HARINGEY))
    monkeypatch.setenv("ESCALATIONS_CATEGORIES", '["staffing", "placement_sufficiency"]')
    settings = Settings(env="test")
    assert settings.ladder.last == 4
    assert settings.ladder.get(4).name == "Director"
    assert settings.categories == ("staffing", "placement_sufficiency")


@pytest.mark.parametrize(
    ("ladder", "words"),
    [
        ([{"stage": 0, "name": "Alert", "response_working_days": 10}], "at least stage 1"),
        (
            [
                {"stage": 0, "name": "Alert", "response_working_days": 10},
                {"stage": 2, "name": "SM", "response_working_days": 10},
            ],
            "stages 0, 1, 2",
        ),
        ([{"stage": 0, "name": "Alert"}, {"stage": 1, "name": "TM"}], "response_working_days"),
        (
            [
                {"stage": 0, "name": "A", "response_working_days": 0},
                {"stage": 1, "name": "TM", "response_working_days": 5},
            ],
            "at least one working day",
        ),
    ],
)
def test_a_bad_ladder_is_refused_at_start(ladder, words):
    with pytest.raises(ValidationError, match=words):
        Settings(env="test", ladder=ladder)


@pytest.mark.parametrize("categories", [[], ["a", "a"], ["a", " "]])
def test_bad_categories_are_refused_at_start(categories):
    with pytest.raises(ValidationError):
        Settings(env="test", categories=categories)


async def test_configured_categories_replace_the_reference_list(database_url, session, auth_header):
    app = make_app(database_url, session, categories=["staffing", "placement_sufficiency"])
    iro = auth_header("iro")
    child = await register_child(session)
    async for client in app_client(app):
        accepted = await client.post("/v1/escalations", json=body([child], category="staffing"), headers=iro)
        assert accepted.status_code == 201
        refused = await client.post("/v1/escalations", json=body([child], category="other"), headers=iro)
        assert refused.status_code == 422
        assert refused.json()["valid"] == ["staffing", "placement_sufficiency"]
        listed = (await client.get("/v1/escalation-categories", headers=iro)).json()["items"]
        assert listed == [{"key": "staffing", "label": None}, {"key": "placement_sufficiency", "label": None}]
