"""The base of every API schema: unknown fields are a 422, not silently ignored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Schema(BaseModel):
    """Request bodies: unknown fields refused, surrounding whitespace stripped from strings."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReadSchema(BaseModel):
    """Responses: built from ORM objects or dicts."""

    model_config = ConfigDict(from_attributes=True)
