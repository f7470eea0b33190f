"""What the gateway sends a service's batch command path (`POST /v1/ingest/<service>`, internal: only
the gateway calls it) and what it gets back: the wire format both sides share.

A command is one ingested event for one service: its idempotency key (`source:id:attempt`, the
attempt counting replays), its type and `data` (shared.ingest.data), when it happened, and for a
command whose target the gateway already knows (participation: the review just held) that target.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.types import Line

__all__ = ["MAX_COMMANDS", "Command", "CommandBatch", "CommandResult", "CommandResults", "Status"]

MAX_COMMANDS = 1000
Status = Literal["accepted", "duplicate", "rejected"]

_EXAMPLE: dict[str, Any] = {
    "source": "mosaic",
    "commands": [
        {
            "key": "mosaic:3f1c9e2a:1",
            "type": "review.held",
            "data": {"la_reference": "LA000123", "held_on": "2026-02-03", "participation_code": "PN1"},
            "occurred_at": "2026-02-03T00:00:00Z",
        }
    ],
}


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=600, description="`source:id:attempt`: the idempotency key.")
    type: Line = Field(description="The event type (CONTRACT.md, 'Events from case systems').")
    data: dict[str, Any] = Field(description="The event's `data`, as the type's model reads it.")
    occurred_at: dt.datetime | None = Field(None, description="When it happened (the event's `time`), UTC.")
    target: dict[str, str] | None = Field(None, description="Ids the gateway already resolved (e.g. `review_id`).")


class CommandBatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    source: Line = Field(description="The case system the events came from: recorded on the footprint's actor.")
    commands: list[Command] = Field(max_length=MAX_COMMANDS, description="Applied in this order.")


class CommandResult(BaseModel):
    key: str
    status: Status
    problem: dict[str, Any] | None = Field(None, description="Why it was rejected (RFC 9457).")
    target: dict[str, str] = Field(default_factory=dict, description="The ids it was applied to.")
    note: str | None = Field(None, description="Why a duplicate is one, when it is not a repeat of the same key.")
    warnings: list[dict[str, Any]] = Field(default_factory=list, description="Accepted with these reservations.")
    replayed: bool = Field(False, description="The key was seen before: this is the first outcome, replayed.")


class CommandResults(BaseModel):
    results: list[CommandResult]
