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

sys.path.insert(0, str(Path(__file__).parent))  # dagtest_helpers, imported by the run tests
sys.path.insert(0, str(Path(__file__).parents[1]))  # alert_listeners, shared with tests/e2e

from alert_listeners import SLACK_PATH, HttpListener, SmtpListener, channel_connections  # noqa: E402

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


FIXTURE_PROJECT = Path(__file__).parent / "fixtures" / "tiny_dbt"


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory) -> Path:
    """A copy of the tiny dbt project with its manifest built; orchard.settings point at it for the session
    (in-process through the settings module, in child processes through ORCHARD_DBT_* variables)."""
    import shutil

    from orchard import settings
    from orchard.transform.manifest import build_manifest

    project = tmp_path_factory.mktemp("tiny") / "dbt"
    shutil.copytree(FIXTURE_PROJECT, project)
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
def dag_warehouse(tmp_path_factory):
    """A warehouse of the DAG tier's own: DAG runs write prod-named databases (staging, marts, raw_*),
    which must not meet other tiers' tables in the session warehouse."""
    import socket
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    root = tmp_path_factory.mktemp("dag-warehouse")
    log = open(root / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchard.warehouse.server", "--path", str(root / "data"), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"GET /ping HTTP/1.0\r\n\r\n")
                if b"Ok." in sock.recv(1024):
                    break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"warehouse did not start: {(root / 'server.log').read_text()}") from None
            time.sleep(0.2)
    from orchard.settings import ClickHouseSettings

    yield ClickHouseSettings(port=port)
    proc.terminate()
    proc.wait(timeout=30)


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
