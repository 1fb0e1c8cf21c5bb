"""One set of warehouse settings, from an Airflow connection URI or ORCHARD_CLICKHOUSE_* variables."""

from __future__ import annotations

import pytest

from orchard.settings import STATE_DIR, ClickHouseSettings
from orchard.warehouse.credentials import generated_password

pytestmark = pytest.mark.unit


def test_defaults_are_the_embedded_warehouse():
    settings = ClickHouseSettings.from_env({})
    assert (settings.host, settings.port, settings.user, settings.password) == (
        "127.0.0.1",
        8123,
        "default",
        generated_password(STATE_DIR),  # the embedded warehouse's generated password
    )


def test_airflow_connection_uri_wins():
    env = {
        "AIRFLOW_CONN_CLICKHOUSE_DEFAULT": "clickhouse://bi%40corp:p%40ss@ch.internal:8443/analytics?secure=true",
        "ORCHARD_CLICKHOUSE_HOST": "ignored",
    }
    settings = ClickHouseSettings.from_env(env)
    assert settings == ClickHouseSettings("ch.internal", 8443, "bi@corp", "p@ss", "analytics", True)
    assert "p@ss" not in settings.describe()


def test_airflow_connection_json():
    env = {
        "AIRFLOW_CONN_CLICKHOUSE_DEFAULT": '{"conn_type": "clickhouse", "host": "h", "port": 9000, "login": "u"}'
    }
    settings = ClickHouseSettings.from_env(env)
    assert (settings.host, settings.port, settings.user) == ("h", 9000, "u")


def test_env_round_trip():
    settings = ClickHouseSettings("h", 1234, "u", "p", "db", False)
    assert ClickHouseSettings.from_env(settings.env()) == settings
