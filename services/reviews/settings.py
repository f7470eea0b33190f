"""Settings of the reviews service (prefix `REVIEWS_`), beside the common ones."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import CommonSettings


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="REVIEWS_", populate_by_name=True, extra="ignore", frozen=True)

    placement_change_review: bool = Field(
        False, description="Bring the next review forward to within 20 working days of an unplanned placement change."
    )
    sw_report_days_before: int = Field(
        5, ge=0, description="The social worker's report is due this many working days before."
    )
    decisions_days: int = Field(5, ge=0, description="Review decisions circulated within this many working days.")
    record_days: int = Field(20, ge=0, description="The full review record within this many working days.")
    letter_days: int = Field(20, ge=0, description="The letter to the child within this many working days.")
    caseload_lower: float = Field(50, gt=0, description="Caseload per FTE below this is band `below`.")
    caseload_upper: float = Field(70, gt=0, description="Caseload per FTE above this is outside guidance.")
