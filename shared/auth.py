"""Bearer JWTs (PyJWT): development HS256 tokens locally, the authority's OIDC RS256 tokens in production.

- Development and test: tokens signed with the development key (settings), issuer and audience
  from settings; `iro token` mints them.
- Production: RS256 only, the signing key found in the configured JWKS by the token's `kid`;
  issuer and audience checked. The development key is never accepted.

Roles come from the `roles` claim. The IRO behind a token is the claim named by the
`IRO_IRO_CLAIM` setting (default `email`), falling back to `sub`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import anyio
import jwt
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import Forbidden, Unauthorised
from shared.settings import INTERNAL_ISSUER, CommonSettings

ROLES = ("iro", "manager", "auditor", "integration", "admin")

bearer_scheme = HTTPBearer(auto_error=False, description="A JWT from the authority's OIDC provider, or `iro token`.")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's subject, roles and the IRO claim."""

    sub: str
    roles: frozenset[str]
    iro_identity: str
    claims: dict[str, Any] = field(default_factory=dict, compare=False)
    token: str = field(default="", repr=False, compare=False)

    @property
    def expires_at(self) -> float:
        """The token's `exp` (seconds since the epoch, UTC), checked to be a number when verified."""
        exp = self.claims.get("exp")
        return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else 0.0

    def has_any(self, roles: set[str] | frozenset[str] | tuple[str, ...]) -> bool:
        return bool(self.roles & set(roles))

    @property
    def role(self) -> str:
        """The one role recorded on the footprint: the first of the token's, in the contract's order."""
        for role in ROLES:
            if role in self.roles:
                return role
        return sorted(self.roles)[0] if self.roles else ""


class TokenClaims(BaseModel):
    """The claims the platform reads, with the types RFC 7519 gives them: `exp`, `nbf` and `iat` are
    NumericDates (JSON numbers, 4.1.4-4.1.6), `sub` a string (4.1.2); `roles` a list of role names.
    Strict: PyJWT itself accepts `"exp": "1893456000"` (it casts with `int()`), we do not."""

    model_config = ConfigDict(strict=True, extra="allow")

    sub: str = Field(min_length=1)
    exp: int | float
    nbf: int | float | None = None
    iat: int | float | None = None
    roles: list[str] = []


def checked_claims(claims: dict[str, Any]) -> TokenClaims:
    """`claims` checked against `TokenClaims`. Raises `Unauthorised` naming the first bad claim."""
    try:
        return TokenClaims.model_validate(claims)
    except ValidationError as exc:
        error = exc.errors()[0]
        claim = str(error["loc"][0]) if error["loc"] else "?"
        expected = {
            "sub": "a non-empty string",
            "exp": "a number (seconds since 1970-01-01 UTC)",
            "nbf": "a number (seconds since 1970-01-01 UTC)",
            "iat": "a number (seconds since 1970-01-01 UTC)",
            "roles": "a list of role names",
        }.get(claim, "well-formed")
        raise Unauthorised(f"The token's `{claim}` claim must be {expected}.", claim=claim) from None


class Authenticator:
    CACHE_SIZE = 4096

    def __init__(self, settings: CommonSettings) -> None:
        self.settings = settings
        self._jwks: jwt.PyJWKClient | None = None
        # Tokens already verified, until they expire: a front-end sends the same token many times.
        self._verified: dict[str, Principal] = {}
        if settings.production:
            assert settings.oidc_jwks_url
            self._jwks = jwt.PyJWKClient(settings.oidc_jwks_url, cache_keys=True, lifespan=3600, timeout=5)

    async def authenticate(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None and known.expires_at > time.time():
            return known
        principal = await self._verify(token)
        if len(self._verified) >= self.CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = principal
        return principal

    async def _verify(self, token: str) -> Principal:
        """Signature, issuer and audience first; then the claims' types (`TokenClaims`); then the
        times (`exp`, `nbf`, `iat`), so that a claim of the wrong type is named as such."""
        try:
            key, algorithm = await self._signing_key(token)
            claims = self._decode(token, key, algorithm, check_times=False)
            checked = checked_claims(claims)
            self._decode(token, key, algorithm, check_times=True)
        except jwt.ExpiredSignatureError:
            raise Unauthorised("The token has expired.") from None
        except jwt.InvalidAudienceError:
            raise Unauthorised("The token is not for this audience.") from None
        except jwt.InvalidIssuerError:
            raise Unauthorised("The token is not from the expected issuer.") from None
        except jwt.exceptions.InvalidSubjectError:  # PyJWT checks `sub` is a string itself
            raise Unauthorised("The token's `sub` claim must be a non-empty string.", claim="sub") from None
        except jwt.PyJWKClientError:
            raise Unauthorised("The token's signing key is not one the identity provider publishes.") from None
        except jwt.InvalidSignatureError:
            raise Unauthorised("The token's signature does not verify.") from None
        except jwt.DecodeError:  # its text can be a codec's error about the token's bytes: not the client's to read
            raise Unauthorised("The token is not a well-formed JWT.") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthorised(f"The token is not valid: {exc}.") from None
        identity = claims.get(self.settings.iro_claim)
        if not isinstance(identity, str) or not identity:
            identity = checked.sub
        return Principal(
            sub=checked.sub, roles=frozenset(checked.roles), iro_identity=identity, claims=claims, token=token
        )

    async def _signing_key(self, token: str) -> tuple[Any, str]:
        if _issuer(token) == INTERNAL_ISSUER:
            return self.settings.internal_token_key.get_secret_value(), "HS256"
        if self._jwks is not None:
            signing_key = await anyio.to_thread.run_sync(self._jwks.get_signing_key_from_jwt, token)
            return signing_key.key, "RS256"
        return self.settings.development_signing_key(), "HS256"

    def _decode(self, token: str, key: Any, algorithm: str, *, check_times: bool) -> dict[str, Any]:
        internal = _issuer(token) == INTERNAL_ISSUER
        options: jwt.types.Options = {
            "require": ["exp", "sub"],
            "verify_exp": check_times,
            "verify_nbf": check_times,
            "verify_iat": check_times,
        }
        return jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=INTERNAL_AUDIENCE if internal else self.settings.jwt_audience,
            issuer=INTERNAL_ISSUER if internal else self.settings.jwt_issuer,
            options=options,
        )


def _issuer(token: str) -> Any:
    """The token's `iss`, unverified: which key verifies it (the OIDC provider's, or the platform's own
    internal key); the signature check that follows is what makes it trusted."""
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.InvalidTokenError:
        return None


def mint_development_token(
    settings: CommonSettings,
    *,
    sub: str,
    roles: list[str],
    ttl: int = 3600,
    extra: dict[str, Any] | None = None,
) -> str:
    """A development token the local platform accepts. The IRO claim defaults to the subject."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "roles": roles,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl,
    }
    if "@" in sub:
        claims.setdefault(settings.iro_claim, sub)
    claims.update(extra or {})
    return jwt.encode(claims, settings.development_signing_key(), algorithm="HS256")


INTERNAL_AUDIENCE = "iro-internal"


def mint_internal_token(
    settings: CommonSettings, *, sub: str, roles: list[str], ttl: int = 300, extra: dict[str, Any] | None = None
) -> str:
    """A short-lived token (`ttl` seconds) with which a process of the platform acts for a person in the
    background, e.g. an import's worker applying rows as their uploader: issuer `iro-internal`, signed
    HS256 with `IRO_INTERNAL_TOKEN_KEY`, which every process shares and no one outside holds."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub, "roles": roles, "iss": INTERNAL_ISSUER, "aud": INTERNAL_AUDIENCE, "iat": now, "exp": now + ttl,
        **(extra or {}),
    }  # fmt: skip
    return jwt.encode(claims, settings.internal_token_key.get_secret_value(), algorithm="HS256")


async def current_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Security(bearer_scheme)
) -> Principal:
    if credentials is None:
        raise Unauthorised("Send `Authorization: Bearer <token>`.")
    authenticator: Authenticator = request.app.state.authenticator
    principal = await authenticator.authenticate(credentials.credentials)
    request.state.principal = principal
    return principal


def require_roles(*roles: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency: the caller's principal, or 401 without a good token and 403 without one of `roles`."""
    allowed = frozenset(roles)
    unknown = allowed - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")

    async def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.has_any(allowed):
            raise Forbidden(f"This needs one of the roles {sorted(allowed)}; the token has {sorted(principal.roles)}.")
        return principal

    return dependency


def refuse_unless(principal: Principal, allowed: frozenset[str]) -> Principal:
    """`principal` when it has one of `allowed`; else 403 naming them (as `require_roles` does)."""
    if not principal.has_any(allowed):
        raise Forbidden(f"This needs one of the roles {sorted(allowed)}; the token has {sorted(principal.roles)}.")
    return principal
