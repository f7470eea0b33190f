"""The base of every API schema: unknown fields are a 422, not silently ignored."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


def _no_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain a NUL character")
    if isinstance(value, list | tuple | set):
        for item in value:
            _no_nul(item)
    if isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key)
            _no_nul(item)
    return value


class Schema(BaseModel):
    """Request bodies: unknown fields refused, surrounding whitespace stripped from strings, NUL
    characters (which PostgreSQL text cannot hold) refused as the field's error."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        return _no_nul(value)


class ReadSchema(BaseModel):
    """Responses: built from ORM objects or dicts."""

    model_config = ConfigDict(from_attributes=True)
