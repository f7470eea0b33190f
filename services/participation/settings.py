"""Settings of the participation service (prefix `PARTICIPATION_`), beside the common ones."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from services.participation.rules import DEFAULT_QUESTIONS, Question, question_set
from shared.settings import CommonSettings


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="PARTICIPATION_", populate_by_name=True, extra="ignore", frozen=True)

    questions: tuple[Question, ...] = Field(
        DEFAULT_QUESTIONS,
        description='The feedback form\'s questions, a JSON list of {"key", "text"}; answers are always, '
        "sometimes or never.",
    )

    @field_validator("questions")
    @classmethod
    def _a_valid_question_set(cls, questions: tuple[Question, ...]) -> tuple[Question, ...]:
        return question_set((q.key, q.text) for q in questions)
