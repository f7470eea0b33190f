"""Settings every app shares, read from the environment by pydantic-settings.

Common settings keep their names whatever the service (`DATABASE_URL`, `IRO_ENV`, `IRO_JWT_*` ...);
each service subclasses `CommonSettings` with its own `env_prefix` for the settings that are its
alone. The README lists every variable (a test keeps it so).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The fixed development signing key: `iro serve` and `iro token` share it, so a token minted on
# the command line works against a locally started platform. Refused when IRO_ENV=production.
DEVELOPMENT_JWT_KEY = "iro-development-signing-key-not-for-production-use-0001"
DEVELOPMENT_AUDIENCE = "iro-platform"
DEVELOPMENT_ISSUER = "iro-dev"
# The fixed development key that signs list cursors (shared.pagination): refused in production.
DEVELOPMENT_CURSOR_SECRET = "iro-development-cursor-secret-not-for-production-use-0001"
# The fixed development key of internal tokens (shared.auth.mint_internal_token): refused in production.
DEVELOPMENT_INTERNAL_KEY = "iro-development-internal-token-key-not-for-production-0001"
INTERNAL_ISSUER = "iro-internal"


def _env(name: str) -> Any:
    """A field read from exactly this environment variable, whatever the class's prefix."""
    return AliasChoices(name)


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="IRO_",
        populate_by_name=True,
        extra="ignore",
        frozen=True,
    )

    env: Literal["development", "test", "production"] = Field(
        "development", validation_alias=_env("IRO_ENV"), description="Run mode."
    )
    database_url: str | None = Field(
        None,
        validation_alias=_env("DATABASE_URL"),
        description="PostgreSQL URL. Unset: `iro serve` starts an embedded server.",
    )
    data_dir: Path = Field(
        Path(".data"),
        validation_alias=_env("IRO_DATA_DIR"),
        description="Where `iro serve` keeps the embedded database and its lock file.",
    )
    db_pool_size: int = Field(10, ge=1, validation_alias=_env("IRO_DB_POOL_SIZE"))
    db_pool_timeout: float = Field(
        5,
        gt=0,
        validation_alias=_env("IRO_DB_POOL_TIMEOUT"),
        description="Seconds a request waits for a pooled connection before a 503.",
    )
    db_connect_timeout: float = Field(
        5,
        gt=0,
        validation_alias=_env("IRO_DB_CONNECT_TIMEOUT"),
        description="Seconds to wait when opening a database connection before a 503.",
    )
    db_role_prefix: str = Field(
        "iro",
        pattern=r"^[a-z][a-z0-9_]{0,40}$",
        validation_alias=_env("IRO_DB_ROLE_PREFIX"),
        description="Database roles are `<prefix>_reviews`, `_escalations`, `_participation`, `_gateway`, `_auditor`.",
    )
    db_create_roles: bool = Field(
        True,
        validation_alias=_env("IRO_DB_CREATE_ROLES"),
        description="Migrations create the roles (idempotently); false when a DBA has made them.",
    )
    db_use_service_roles: bool = Field(
        True,
        validation_alias=_env("IRO_DB_USE_SERVICE_ROLES"),
        description="Each process takes its own role on every connection; false: the URL's user as it is.",
    )

    # Auth
    jwt_dev_key: SecretStr | None = Field(
        None,
        validation_alias=_env("IRO_JWT_DEV_KEY"),
        description="Development HS256 key; unset: the fixed development key. Refused in production.",
    )
    internal_token_key: SecretStr = Field(
        SecretStr(DEVELOPMENT_INTERNAL_KEY),
        validation_alias=_env("IRO_INTERNAL_TOKEN_KEY"),
        description="HS256 key the platform's own processes share to act for a person in the background "
        "(an import's worker applies rows as their uploader). A fixed development key unless set; production "
        "needs its own, at least 32 characters, the same in every process.",
    )
    cursor_secret: SecretStr = Field(
        SecretStr(DEVELOPMENT_CURSOR_SECRET),
        validation_alias=_env("IRO_CURSOR_SECRET"),
        description="HMAC key that signs list cursors; a fixed development key unless set. Production needs its own.",
    )
    jwt_audience: str = Field(DEVELOPMENT_AUDIENCE, validation_alias=_env("IRO_JWT_AUDIENCE"))
    jwt_issuer: str = Field(DEVELOPMENT_ISSUER, validation_alias=_env("IRO_JWT_ISSUER"))
    oidc_jwks_url: str | None = Field(
        None,
        validation_alias=_env("IRO_OIDC_JWKS_URL"),
        description="Production: the OIDC provider's JWKS URL; RS256 tokens are checked against it.",
    )
    iro_claim: str = Field(
        "email",
        validation_alias=_env("IRO_IRO_CLAIM"),
        description="The token claim matched to an IRO's email (falls back to `sub`).",
    )

    # HTTP
    max_body_bytes: int = Field(1024 * 1024, ge=1, validation_alias=_env("IRO_MAX_BODY_BYTES"))
    max_batch_body_bytes: int = Field(10 * 1024 * 1024, ge=1, validation_alias=_env("IRO_MAX_BATCH_BODY_BYTES"))

    # Calendar
    today: dt.date | None = Field(
        None,
        validation_alias=_env("IRO_TODAY"),
        description="Fix today's date (demos and tests); unset: the date in England.",
    )
    local_closure_days: tuple[dt.date, ...] = Field(
        (),
        validation_alias=_env("IRO_LOCAL_CLOSURE_DAYS"),
        description="Extra non-working days, a JSON list of dates.",
    )

    @model_validator(mode="after")
    def _refuse_development_secrets_in_production(self) -> CommonSettings:
        if self.env == "production":
            if self.jwt_dev_key is not None:
                raise ValueError(
                    "IRO_ENV=production refuses IRO_JWT_DEV_KEY: development signing keys are never "
                    "accepted in production, which validates RS256 tokens against IRO_OIDC_JWKS_URL"
                )
            if not self.oidc_jwks_url:
                raise ValueError("IRO_ENV=production needs IRO_OIDC_JWKS_URL (the OIDC provider's JWKS)")
            if self.jwt_issuer == DEVELOPMENT_ISSUER or self.jwt_audience == DEVELOPMENT_AUDIENCE:
                raise ValueError("IRO_ENV=production needs IRO_JWT_ISSUER and IRO_JWT_AUDIENCE of your own")
            if self.cursor_secret.get_secret_value() == DEVELOPMENT_CURSOR_SECRET:
                raise ValueError("IRO_ENV=production needs IRO_CURSOR_SECRET of your own (it signs list cursors)")
            if len(self.cursor_secret.get_secret_value()) < 32:
                raise ValueError("IRO_CURSOR_SECRET must be at least 32 characters")
            if self.internal_token_key.get_secret_value() == DEVELOPMENT_INTERNAL_KEY:
                raise ValueError("IRO_ENV=production needs IRO_INTERNAL_TOKEN_KEY of your own (internal tokens)")
            if len(self.internal_token_key.get_secret_value()) < 32:
                raise ValueError("IRO_INTERNAL_TOKEN_KEY must be at least 32 characters")
        return self

    @property
    def production(self) -> bool:
        return self.env == "production"

    def db_role(self, name: str) -> str:
        """The database role of a service (or `auditor`), e.g. `iro_reviews`."""
        return f"{self.db_role_prefix}_{name}"

    def development_signing_key(self) -> str:
        """The HS256 key of development tokens; there is none in production."""
        if self.production:
            raise RuntimeError("there is no development signing key in production")
        return self.jwt_dev_key.get_secret_value() if self.jwt_dev_key else DEVELOPMENT_JWT_KEY


def env_names(settings_class: type[BaseSettings]) -> set[str]:
    """Every environment variable a settings class reads (used to check deployment files)."""
    prefix = str(settings_class.model_config.get("env_prefix", "")).upper()
    names: set[str] = set()
    for name, field in settings_class.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices)
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names
