"""Settings of the escalations service (prefix `ESCALATIONS_`), beside the common ones.

- `ESCALATIONS_LADDER`: the stages as a JSON list of `{"stage", "name", "response_working_days"}`,
  0 (informal alert) to the top stage, contiguous. Default: reference/escalation_stages.csv (0-5).
  An authority running four formal stages configures 0-4.
- `ESCALATIONS_CATEGORIES`: the category keys as a JSON list. Default:
  reference/escalation_categories.csv.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from services.escalations.rules import Ladder, default_categories
from shared.settings import CommonSettings


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="ESCALATIONS_", populate_by_name=True, extra="ignore", frozen=True)

    ladder: Ladder = Field(
        default_factory=Ladder.default,
        description="The escalation ladder: a JSON list of {stage, name, response_working_days}, stages 0 to N.",
    )
    categories: tuple[str, ...] = Field(
        default_factory=default_categories,
        description="The escalation category keys, a JSON list.",
    )

    @field_validator("ladder", mode="before")
    @classmethod
    def _ladder_from_rows(cls, value: Any) -> Any:
        if isinstance(value, list | tuple) and all(isinstance(row, dict) for row in value):
            try:
                return Ladder.from_rows(value)
            except (KeyError, TypeError) as exc:
                raise ValueError(
                    f"each stage needs `stage`, `name` and `response_working_days` ({type(exc).__name__}: {exc})"
                ) from None
        return value

    @field_validator("categories")
    @classmethod
    def _distinct_keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        keys = tuple(key.strip() for key in value)
        if not keys:
            raise ValueError("at least one escalation category is needed")
        if any(not key for key in keys):
            raise ValueError("escalation category keys must not be blank")
        if len(set(keys)) != len(keys):
            raise ValueError("escalation category keys must be distinct")
        return keys
