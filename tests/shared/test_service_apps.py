"""Every app answers /healthz, /readyz, /metrics and /openapi.json."""

import importlib

import pytest

from shared import migrate
from tests.conftest import app_client

SERVICES = ["reviews", "escalations", "participation", "gateway"]


def make_app(service: str, **overrides):
    module = importlib.import_module(f"services.{service}.main")
    settings_module = importlib.import_module(f"services.{service}.settings")
    if service == "gateway":  # point it at nothing: the services are not started here
        overrides.update(reviews_url="http://127.0.0.1:9", escalations_url="http://127.0.0.1:9",
                         participation_url="http://127.0.0.1:9")  # fmt: skip
    return module.create_app(settings_module.Settings(env="test", **overrides))


@pytest.mark.parametrize("service", SERVICES)
async def test_service_is_healthy_and_ready_on_a_migrated_database(service, database_url):
    async for client in app_client(make_app(service, database_url=database_url)):
        health = await client.get("/healthz")
        assert health.json() == {"status": "ok", "service": service}
        ready = await client.get("/readyz")
        if service == "gateway":  # its readiness includes the services, none of which runs here
            assert ready.status_code == 503
            assert set(ready.json()["checks"].values()) == {"failing"}
        else:
            assert ready.status_code == 200
        assert ready.json()["database"] == "ok"
        assert ready.json()["migrations"] == "ok"
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200
        assert 'http_requests_total{handler="/readyz"' in metrics.text
        openapi = (await client.get("/openapi.json")).json()
        assert openapi["info"]["title"]
        assert "/healthz" in openapi["paths"]


@pytest.mark.parametrize("service", SERVICES)
async def test_readyz_is_503_when_the_database_is_unreachable(service):
    app = make_app(service, database_url="postgresql://nobody@127.0.0.1:9/none")
    async for client in app_client(app):
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["database"] == "unreachable"
        assert (await client.get("/healthz")).status_code == 200


def test_the_migration_head_is_known():
    assert migrate.head_revision() is not None
