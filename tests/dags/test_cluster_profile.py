"""Inside Airflow, dbt's profile comes from the `clickhouse_default` connection (Cosmos): ORCHARD_CLICKHOUSE_CLUSTER
gives it dbt-clickhouse's `cluster` setting, as dbt/profiles.yml's `cluster` target has, and nothing else does."""

from __future__ import annotations

import json

import pytest
import yaml

from orchard import settings

pytestmark = pytest.mark.dags

CONNECTION = {
    "conn_type": "generic",
    "host": "127.0.0.1",
    "port": 8123,
    "login": "default",
    "schema": "default",
}


def cosmos_profile(monkeypatch, cluster: str | None) -> dict:
    from orchard.transform.cosmos_config import profile_config

    monkeypatch.setenv("AIRFLOW_CONN_CLICKHOUSE_DEFAULT", json.dumps(CONNECTION))
    if cluster is None:
        monkeypatch.delenv("ORCHARD_CLICKHOUSE_CLUSTER", raising=False)
    else:
        monkeypatch.setenv("ORCHARD_CLICKHOUSE_CLUSTER", cluster)
    return profile_config().profile_mapping.profile


def test_cluster_variable_gives_the_airflow_profile_the_cluster_setting(monkeypatch):
    profile = cosmos_profile(monkeypatch, "orchard")
    cluster_target = yaml.safe_load((settings.PROJECT_ROOT / "dbt" / "profiles.yml").read_text())
    expected = cluster_target["orchard"]["outputs"]["cluster"]
    assert profile["cluster"] == "orchard"
    assert profile["custom_settings"] == expected["custom_settings"] == {"insert_distributed_sync": 1}


@pytest.mark.parametrize("value", [None, "", "  "])
def test_without_a_cluster_the_airflow_profile_is_a_single_server(monkeypatch, value):
    profile = cosmos_profile(monkeypatch, value)
    assert "cluster" not in profile and "custom_settings" not in profile
    assert profile["driver"] == "http" and profile["host"] == "127.0.0.1"
