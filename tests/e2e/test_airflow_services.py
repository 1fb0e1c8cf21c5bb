"""Orchard's local Airflow for real: `make up` output, the settings file imported, the plugin's page. Its
backfills: test_backfill_fortnight (the CLI) and test_ui (the UI)."""

from __future__ import annotations

import urllib.request

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_up_prints_the_url_and_the_login(airflow_up):
    assert airflow_up.url in airflow_up.up_output
    assert "login: admin" in airflow_up.up_output and airflow_up.password in airflow_up.up_output


def test_settings_yaml_is_imported(airflow_up):
    assert airflow_up.api("GET", "/pools/clickhouse")["slots"] == 4
    assert airflow_up.api("GET", "/pools/dbt_build")["slots"] == 1
    conn = airflow_up.api("GET", "/connections/clickhouse_default")
    assert conn["conn_type"] == "generic" and conn["host"] == "127.0.0.1"


def test_plugin_serves_the_dashboards_page(airflow_up):
    page = urllib.request.urlopen(f"{airflow_up.url}/orchard/dashboards", timeout=30).read().decode()
    assert "Orchard dashboards" in page
