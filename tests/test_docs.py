"""The docs a user reads first stay true: every variable the code reads is documented."""

from pathlib import Path

import pytest

from services.escalations.settings import Settings as EscalationsSettings
from services.gateway.settings import Settings as GatewaySettings
from services.participation.settings import Settings as ParticipationSettings
from services.reviews.settings import Settings as ReviewsSettings
from shared.cli import ServeSettings
from shared.settings import env_names

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "settings_class",
    [ServeSettings, ReviewsSettings, EscalationsSettings, ParticipationSettings, GatewaySettings],
    ids=lambda c: c.__module__,
)
def test_every_environment_variable_is_documented(settings_class):
    documented = (ROOT / "README.md").read_text()
    missing = sorted(name for name in env_names(settings_class) if f"`{name}`" not in documented)
    assert missing == []


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    commands = [line.split("#")[0].strip() for line in readme.splitlines() if line.startswith("python3 dev.py")]
    assert commands[:2] == ["python3 dev.py serve", "python3 dev.py test"]
