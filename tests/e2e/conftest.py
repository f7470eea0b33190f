"""Folders for the end-to-end platforms.

Not pytest's `tmp_path`: the embedded PostgreSQL runs as an unprivileged system user when the tests
run as root, and pytest resets `/tmp/pytest-of-<user>` to mode 0700 whenever another pytest session
starts, which would lock that user out of a running server's data folder."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="iro-e2e-") as path:
        yield Path(path)


@pytest.fixture(scope="module")
def module_folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="iro-e2e-") as path:
        yield Path(path)
