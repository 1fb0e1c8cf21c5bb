"""Fixtures for the DAG tier: a throwaway AIRFLOW_HOME with migrated SQLite metadata, and real local
listeners (an HTTP server and an SMTP server) that alert channels send to."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from alert_listeners import SLACK_PATH, HttpListener, SmtpListener, channel_connections
from dagtest_helpers import copy_tiny_project

from orchard.settings import ClickHouseSettings

# Airflow reads AIRFLOW_HOME when it is first imported: set it before any test module imports airflow.
_HOME = Path(tempfile.mkdtemp(prefix="orchard-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(__file__).resolve().parents[2] / "dags")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
os.environ["ORCHARD_ALERT_LOG"] = str(_HOME / "alerts.jsonl")


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    """AIRFLOW_HOME with its metadata database migrated (once per session, ~5 s)."""
    subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
        check=True,
        capture_output=True,
        env={**os.environ},
    )
    return _HOME


@pytest.fixture
def http_listener():
    listener = HttpListener()
    yield listener
    listener.server.shutdown()


@pytest.fixture
def smtp_listener():
    listener = SmtpListener()
    yield listener
    listener.server.shutdown()


@pytest.fixture
def alert_channels(http_listener, smtp_listener, monkeypatch):
    """All three alert channels configured as Airflow connections pointing at the local listeners."""
    conns = channel_connections(http_listener, smtp_listener)
    for key, value in conns.items():
        monkeypatch.setenv(key, json.dumps(value))
    return {
        "http": http_listener,
        "smtp": smtp_listener,
        "slack_path": SLACK_PATH,
    }


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory) -> Path:
    """A copy of the tiny dbt project with its manifest built; orchard.settings point at it for the session
    (in-process through the settings module, in child processes through ORCHARD_DBT_* variables)."""
    from orchard import settings
    from orchard.transform.manifest import build_manifest

    project = copy_tiny_project(tmp_path_factory.mktemp("tiny") / "dbt")
    saved = (settings.DBT_PROJECT_DIR, settings.DBT_MANIFEST_PATH)
    settings.DBT_PROJECT_DIR = project
    settings.DBT_MANIFEST_PATH = project / "target" / "manifest.json"
    os.environ["ORCHARD_DBT_PROJECT_DIR"] = str(project)
    os.environ["ORCHARD_DBT_MANIFEST"] = str(settings.DBT_MANIFEST_PATH)
    build_manifest(project)
    yield project
    settings.DBT_PROJECT_DIR, settings.DBT_MANIFEST_PATH = saved
    os.environ.pop("ORCHARD_DBT_PROJECT_DIR", None)
    os.environ.pop("ORCHARD_DBT_MANIFEST", None)


@pytest.fixture(scope="session")
def dag_warehouse(start_warehouse) -> ClickHouseSettings:
    """A warehouse of the DAG tier's own: DAG runs write prod-named databases (staging, marts, raw_*),
    which must not meet other tiers' tables in the session warehouse."""
    server = start_warehouse(env={"ORCHARD_WAREHOUSE_READONLY_USERS": ""})  # the session password
    return ClickHouseSettings(port=server.port)


@pytest.fixture
def real_project(monkeypatch):
    """The shipped dbt project and its manifest, rebuilt if stale (the tiny project may be active)."""
    from orchard import settings
    from orchard.transform.manifest import ManifestError, build_manifest, check_manifest

    project = settings.PROJECT_ROOT / "dbt"
    manifest = settings.airflow_manifest_path(project)
    monkeypatch.setattr(settings, "DBT_PROJECT_DIR", project)
    monkeypatch.setattr(settings, "DBT_MANIFEST_PATH", manifest)
    monkeypatch.setenv("ORCHARD_DBT_PROJECT_DIR", str(project))
    monkeypatch.setenv("ORCHARD_DBT_MANIFEST", str(manifest))
    try:
        check_manifest()
    except ManifestError:
        build_manifest(project)
    return project
