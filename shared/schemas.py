"""The base of every API schema: unknown fields are a 422, not silently ignored."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from shared.types import refuse_nul


class Schema(BaseModel):
    """Request bodies: unknown fields refused, surrounding whitespace stripped from strings, NUL
    characters (which PostgreSQL text cannot hold) refused as the field's error, in nested lists and
    dicts too (`shared.types.refuse_nul`; the field types in `shared.types` check the rest)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        return refuse_nul(value)


class ReadSchema(BaseModel):
    """Responses: built from ORM objects or dicts."""

    model_config = ConfigDict(from_attributes=True)
