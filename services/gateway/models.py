"""The gateway's tables (schema `gateway`): only those every service schema has (idempotency keys,
a footprint consumer's position and dead letters; shared.service_tables). It keeps no domain tables:
the gateway talks to the services over HTTP."""

from __future__ import annotations

from shared import service_tables

SCHEMA = "gateway"

IDEMPOTENCY_KEY, CONSUMER_POSITION, CONSUMER_DEAD_LETTER = service_tables.declare(SCHEMA)
