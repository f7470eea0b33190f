"""Settings of the gateway (prefix `GATEWAY_`), beside the common ones."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

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
