"""One set of warehouse settings, from an Airflow connection URI or ORCHARD_CLICKHOUSE_* variables."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from orchard.settings import STATE_DIR, ClickHouseSettings, OrchardSettings, generated_warehouse_password

pytestmark = pytest.mark.unit


def test_defaults_are_the_embedded_warehouse(monkeypatch):
    monkeypatch.delenv("ORCHARD_CLICKHOUSE_PASSWORD", raising=False)
    settings = ClickHouseSettings.from_env({})
    assert (settings.host, settings.port, settings.user, settings.password) == (
        "127.0.0.1",
        8123,
        "default",
        generated_warehouse_password(STATE_DIR),  # the embedded warehouse's generated password
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


def test_one_truthiness_rule_for_variables_and_connection_extras():
    assert ClickHouseSettings.from_env({"ORCHARD_CLICKHOUSE_SECURE": "yes"}).secure is True
    assert ClickHouseSettings.from_env({"ORCHARD_CLICKHOUSE_SECURE": "0"}).secure is False
    uri = '{"conn_type": "generic", "host": "h", "extra": {"secure": "on"}}'
    assert ClickHouseSettings.from_env({"AIRFLOW_CONN_CLICKHOUSE_DEFAULT": uri}).secure is True
    assert OrchardSettings(_env_file=None, nightly_catchup="no").nightly_catchup is False


def test_a_setting_that_is_not_its_type_is_refused_naming_it(monkeypatch):
    monkeypatch.setenv("ORCHARD_NIGHTLY_CATCHUP", "sometimes")
    monkeypatch.setenv("ORCHARD_TASK_RETRIES", "two")
    with pytest.raises(ValidationError) as refused:
        OrchardSettings()
    message = str(refused.value)
    assert "nightly_catchup" in message and "valid boolean" in message
    assert "task_retries" in message and "valid integer" in message
    with pytest.raises(ValidationError, match="port"):
        ClickHouseSettings.from_env({"ORCHARD_CLICKHOUSE_PORT": "eighty"})


def test_outside_an_airflow_task_the_warehouse_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_CLICKHOUSE_DEFAULT", raising=False)
    monkeypatch.setenv("ORCHARD_CLICKHOUSE_PORT", "18123")
    assert ClickHouseSettings.resolve().port == 18123
