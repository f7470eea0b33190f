"""docker-compose.yml cannot run here (no Docker engine), so check what can be checked: every
process it starts names a module that exists, and every variable it sets is one the settings read."""

import importlib
import importlib.util
from pathlib import Path

import pytest
import yaml

from shared.cli import ServeSettings
from shared.settings import env_names

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
OUR_SERVICES = {name: spec for name, spec in COMPOSE["services"].items() if "build" in spec}


def settings_class_for(command: list[str]):
    if command[:2] in (["iro", "migrate"], ["iro", "sequencer"]):
        return ServeSettings
    assert command[0] == "uvicorn"
    module_name, factory = command[1].split(":")
    assert importlib.util.find_spec(module_name) is not None, module_name
    assert callable(getattr(importlib.import_module(module_name), factory))
    package = module_name.rsplit(".", 1)[0]
    return importlib.import_module(f"{package}.settings").Settings


def test_compose_runs_postgres_a_migration_job_the_sequencer_three_services_and_the_gateway():
    assert "db" in COMPOSE["services"]
    assert set(OUR_SERVICES) == {"migrate", "sequencer", "reviews", "escalations", "participation", "gateway"}


@pytest.mark.parametrize("name", sorted(OUR_SERVICES))
def test_compose_service_runs_a_real_module_with_variables_its_settings_read(name):
    spec = OUR_SERVICES[name]
    settings_class = settings_class_for(spec["command"])
    unknown = set(spec["environment"]) - env_names(settings_class)
    assert unknown == set(), f"{name} sets variables nothing reads: {unknown}"


def test_gateway_is_pointed_at_each_service_by_its_compose_name():
    env = OUR_SERVICES["gateway"]["environment"]
    for service in ("reviews", "escalations", "participation"):
        assert env[f"GATEWAY_{service.upper()}_URL"].startswith(f"http://{service}:")


def test_dockerfile_copies_what_the_processes_import():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for folder in ("shared", "services", "migrations"):
        assert f"COPY {folder} ./{folder}" in dockerfile
