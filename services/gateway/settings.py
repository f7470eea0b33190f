"""Settings of the gateway (prefix `GATEWAY_`), beside the common ones."""

from __future__ import annotations

import datetime as dt

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.ingest.signing import DEVELOPMENT_SECRET
from shared.settings import CommonSettings


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", populate_by_name=True, extra="ignore", frozen=True)

    reviews_url: str = Field("http://127.0.0.1:8001", description="Base URL of the reviews service.")
    escalations_url: str = Field("http://127.0.0.1:8002", description="Base URL of the escalations service.")
    participation_url: str = Field("http://127.0.0.1:8003", description="Base URL of the participation service.")
    cors_origins: tuple[str, ...] = Field((), description="Front-end origins allowed by CORS (JSON list).")
    service_timeout: float = Field(30.0, gt=0, description="Seconds to wait for a service's answer (504 after).")
    connect_timeout: float = Field(2.0, gt=0, description="Seconds to wait to connect to a service (502 after).")
    max_connections: int = Field(100, ge=1, description="Pooled connections per service.")
    recent_footprint: int = Field(20, ge=1, le=500, description="Events shown in a child's overview.")

    ingest_secrets: dict[str, list[SecretStr]] = Field(
        default_factory=dict,
        validation_alias=AliasChoices("IRO_INGEST_SECRETS"),
        description='Signing secrets per source, a JSON object: `{"mosaic": ["whsec_..."]}`. Several '
        "per source verify at once (rotation). In development and test, a source with none signs with the "
        "development secret (shared.ingest.signing); in production a source with none is refused.",
    )
    max_batch_events: int = Field(
        1000, ge=1, le=10_000, validation_alias=AliasChoices("IRO_MAX_BATCH_EVENTS"),
        description="Events in one `application/cloudevents-batch+json` request (413 over it).",
    )  # fmt: skip
    ingest_chunk: int = Field(
        250, ge=1, le=1000, description="Events sent to a service's batch command path per call (one transaction)."
    )
    inbox_body_retention_days: int = Field(
        90, ge=1, validation_alias=AliasChoices("IRO_INBOX_BODY_RETENTION_DAYS"),
        description="Days the inbox keeps an event's raw body; the outcome row stays.",
    )  # fmt: skip

    max_import_bytes: int = Field(
        200 * 1024 * 1024, ge=1, validation_alias=AliasChoices("IRO_MAX_IMPORT_BYTES"),
        description="The largest SSDA903 upload (all three files, as sent); it is streamed, never held.",
    )  # fmt: skip
    verify_max_events: int = Field(
        1_000_000, ge=1, description="Events one GET /v1/footprint/verify checks at most; a longer chain answers "
        "`complete: false` and `next_from_seq` to continue from, so no call runs for minutes.",
    )  # fmt: skip
    report_suppress_below: int = Field(
        5, ge=1, le=100,
        description="On the published report page, counts from 1 to this less one are shown as 'fewer than N' "
        "and percentages built on them are withheld (1: suppress nothing). The dataset keeps exact figures.",
    )  # fmt: skip
    report_authority: str | None = Field(None, max_length=200, description="The authority's name on the report page.")
    report_platform_from: dt.date | None = Field(
        None, description="The day the platform's own records begin (go-live), for the report's themes only "
        "the platform records; default: the earliest event it recorded that an SSDA903 backfill did not.",
    )  # fmt: skip
    report_templates: str | None = Field(
        None, description="A folder of the authority's own report templates, searched before the platform's "
        "(e.g. its own annual_report.html.j2).",
    )  # fmt: skip
    import_worker: bool = Field(True, description="Run the import worker in this gateway process.")
    import_poll_seconds: float = Field(1.0, gt=0, le=60, description="How often the import worker looks for work.")
    import_children_per_batch: int = Field(
        50, ge=1, le=5000, description="Children an import applies per transaction (their rows' outcomes with it)."
    )

    @model_validator(mode="after")
    def _no_development_ingest_secret_in_production(self) -> Settings:
        if self.env == "production":
            for source, secrets in self.ingest_secrets.items():
                if any(secret.get_secret_value() == DEVELOPMENT_SECRET for secret in secrets):
                    raise ValueError(f"IRO_ENV=production refuses the development ingest secret (source {source})")
        return self

    def secrets_of(self, source: str) -> list[str]:
        """The active signing secrets of `source`: configured ones, else (outside production) the
        development secret; none (production) means the source is refused."""
        configured = [secret.get_secret_value() for secret in self.ingest_secrets.get(source, [])]
        if configured or self.production:
            return configured
        return [DEVELOPMENT_SECRET]
