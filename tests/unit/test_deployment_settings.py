"""Both deployments create the pools the DAGs use: a task in a pool that does not exist is never scheduled."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from orchard import settings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_airflow_settings_define_every_pool_the_dags_use():
    pools = {
        p["pool_name"]: p["pool_slot"]
        for p in yaml.safe_load((ROOT / "airflow_settings.yaml").read_text())["airflow"]["pools"]
    }
    assert settings.CLICKHOUSE_POOL in pools
    assert pools[settings.DBT_BUILD_POOL] == 1  # one dbt build at a time


def test_docker_compose_init_imports_the_airflow_settings():
    """`make up` imports airflow_settings.yaml (scripts/airflow_local.py); the Docker init must too."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["airflow-init"]["command"]
    assert "scripts/import_airflow_settings.py airflow_settings.yaml" in command
    assert command.index("airflow db migrate") < command.index("import_airflow_settings.py")
    ignored = (ROOT / ".dockerignore").read_text().split() if (ROOT / ".dockerignore").exists() else []
    assert not {"scripts", "scripts/", "airflow_settings.yaml"} & set(ignored)
