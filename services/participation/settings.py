"""Settings of the participation service (prefix `PARTICIPATION_`), beside the common ones."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import CommonSettings


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="PARTICIPATION_", populate_by_name=True, extra="ignore", frozen=True)
