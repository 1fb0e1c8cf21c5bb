"""Fixtures for the tests on production's services: one throwaway PostgreSQL per session (tests/services.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))  # services, shared by the tiers that need real servers

from services import PostgresServer, start_postgres  # noqa: E402


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    """A PostgreSQL server for the whole session, on a free port; stopped and deleted at the end."""
    server = start_postgres()
    yield server
    server.stop()
