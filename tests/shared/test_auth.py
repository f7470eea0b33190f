"""Bearer tokens: development HS256 locally, RS256 against an OIDC JWKS in production."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Depends

from shared.app import build_app
from shared.auth import Principal, mint_development_token, require_roles
from shared.settings import CommonSettings
from tests.conftest import app_client

router = APIRouter()


@router.get("/v1/whoami")
async def whoami(principal: Principal = Depends(require_roles("iro", "manager"))) -> dict[str, str]:
    return {"sub": principal.sub, "iro": principal.iro_identity, "role": principal.role}


async def call(settings: CommonSettings, token: str | None) -> tuple[int, dict]:
    app = build_app(settings, service="t", title="t", description="d", routers=[router], use_database=False)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async for client in app_client(app):
        response = await client.get("/v1/whoami", headers=headers)
        return response.status_code, response.json()
    raise AssertionError("unreachable")


async def test_development_token_identifies_the_caller_and_the_iro(settings):
    token = mint_development_token(settings, sub="alice@council.gov.uk", roles=["iro"])
    status, body = await call(settings, token)
    assert status == 200
    assert body == {"sub": "alice@council.gov.uk", "iro": "alice@council.gov.uk", "role": "iro"}


async def test_iro_claim_is_configurable_and_falls_back_to_sub(settings):
    upn = settings.model_copy(update={"iro_claim": "upn"})
    with_claim = mint_development_token(upn, sub="object-id-1", roles=["iro"], extra={"upn": "bob@council.gov.uk"})
    assert (await call(upn, with_claim))[1]["iro"] == "bob@council.gov.uk"
    without = mint_development_token(upn, sub="object-id-2", roles=["iro"])
    assert (await call(upn, without))[1]["iro"] == "object-id-2"


async def test_no_token_is_401(settings):
    assert (await call(settings, None))[0] == 401


async def test_bad_signature_is_401(settings):
    forged = jwt.encode(
        {
            "sub": "x",
            "roles": ["admin"],
            "aud": settings.jwt_audience,
            "iss": settings.jwt_issuer,
            "exp": int(time.time()) + 60,
        },
        "not-the-key-not-the-key-not-the-key-000",
        algorithm="HS256",
    )
    status, body = await call(settings, forged)
    assert (status, body["detail"]) == (401, "The token's signature does not verify.")


@pytest.mark.parametrize("garbage", ["abc", "a.b.c", "t7Yb.e30.c", "eyJhbGciOiJIUzI1NiJ9.t7Yb.c"])
async def test_a_token_that_is_no_jwt_is_401_without_the_decoders_own_words(settings, garbage):
    """PyJWT's text for bytes it cannot decode is a codec's error ("'utf-8' codec can't decode byte
    0xb7 ..."): the answer says what is wrong for the client instead."""
    status, body = await call(settings, garbage)
    assert (status, body["detail"]) == (401, "The token is not a well-formed JWT.")


async def test_expired_token_is_401(settings):
    expired = mint_development_token(settings, sub="a@council.gov.uk", roles=["iro"], ttl=-10)
    status, body = await call(settings, expired)
    assert status == 401
    assert "expired" in body["detail"]


async def test_wrong_role_is_403(settings):
    token = mint_development_token(settings, sub="aud@council.gov.uk", roles=["auditor"])
    assert (await call(settings, token))[0] == 403


def test_require_roles_refuses_unknown_role_names():
    with pytest.raises(ValueError, match="unknown roles"):
        require_roles("superuser")


class _Jwks:
    """A real HTTP server on loopback publishing one RSA key, as an OIDC provider does."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        document = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(document)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/keys"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, **claims) -> str:
        base = {"sub": "oid-1", "roles": ["manager"], "exp": int(time.time()) + 300}
        return jwt.encode({**base, **claims}, self.key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture(scope="module")
def jwks():
    provider = _Jwks()
    yield provider
    provider.server.shutdown()


@pytest.fixture
def production(jwks):
    return CommonSettings(
        env="production",
        oidc_jwks_url=jwks.url,
        jwt_issuer="https://login.example/tenant/v2.0",
        jwt_audience="api://iro-platform",
        iro_claim="preferred_username",
        cursor_secret="a-production-cursor-secret-of-40-characters",
        internal_token_key="a-production-internal-token-key-of-40-chars",
    )


async def test_production_accepts_rs256_tokens_from_the_jwks(production, jwks):
    token = jwks.token(iss=production.jwt_issuer, aud=production.jwt_audience, preferred_username="m@council.gov.uk")
    status, body = await call(production, token)
    assert status == 200
    assert body["iro"] == "m@council.gov.uk"


async def test_production_refuses_the_wrong_audience(production, jwks):
    token = jwks.token(iss=production.jwt_issuer, aud="api://something-else")
    status, body = await call(production, token)
    assert status == 401
    assert "audience" in body["detail"]


async def test_production_refuses_the_wrong_issuer(production, jwks):
    token = jwks.token(iss="https://evil.example/", aud=production.jwt_audience)
    assert (await call(production, token))[0] == 401


async def test_production_refuses_development_tokens(production, settings):
    dev_token = mint_development_token(settings, sub="a@council.gov.uk", roles=["admin"])
    assert (await call(production, dev_token))[0] == 401


def forged_with(settings: CommonSettings, **claims: object) -> str:
    """A development-signed token with these claims over the usual ones (so only they are wrong)."""
    now = int(time.time())
    base: dict[str, object] = {
        "sub": "alice@council.gov.uk",
        "roles": ["iro"],
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + 600,
    }
    return jwt.encode({**base, **claims}, settings.development_signing_key(), algorithm="HS256")


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("exp", "1893456000"),  # PyJWT casts this with int() and accepts it
        ("exp", True),
        ("nbf", "0"),
        ("iat", "1700000000"),
        ("roles", "iro"),
        ("roles", ["iro", 5]),
        ("roles", {"iro": True}),
        ("sub", 12345),
    ],
)
async def test_claim_of_the_wrong_type_is_401_naming_it_every_time(settings, claim, value):
    token = forged_with(settings, **{claim: value})
    app = build_app(settings, service="t", title="t", description="d", routers=[router], use_database=False)
    async for client in app_client(app):
        for _ in range(2):  # the second use once found a cached principal and compared a string with the clock
            response = await client.get("/v1/whoami", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, response.text
            body = response.json()
            assert body["claim"] == claim
            assert f"`{claim}`" in body["detail"]


async def test_numeric_claims_may_be_fractional(settings):
    token = forged_with(settings, exp=time.time() + 600.5, iat=time.time() - 0.5)
    status, body = await call(settings, token)
    assert status == 200
    assert body["sub"] == "alice@council.gov.uk"


@pytest.mark.parametrize("ttl", ["-100", "0", str(31 * 24 * 3600)])
def test_iro_token_refuses_a_lifetime_that_is_spent_or_too_long(ttl, capsys):
    from shared import cli

    assert cli.main(["token", "--role", "iro", "--sub", "a@council.gov.uk", "--ttl", ttl]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "--ttl must be 1 to 2592000 seconds" in err
