"""`make up`'s executor choice (scripts/airflow_local.py), run as the command a user runs: an unknown
ORCHARD_EXECUTOR is refused naming the fix; `celery` adds Redis, two workers and Flower to the services and
their settings to the environment, with the broker's password kept private under the state directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchard.orchestration.workers import hostname

pytestmark = pytest.mark.unit

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "airflow_local.py"


def _run(tmp_path: Path, command: str, executor: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ORCHARD_STATE_DIR": str(tmp_path), "ORCHARD_EXECUTOR": executor}
    env.pop("ORCHARD_REDIS_PORT", None)
    env.pop("ORCHARD_REDIS_PASSWORD", None)
    env.pop("ORCHARD_AIRFLOW_HOME", None)
    return subprocess.run([sys.executable, str(SCRIPT), command], env=env, capture_output=True, text=True)


def _exports(stdout: str) -> dict[str, str]:
    return {
        key.removeprefix("export "): json.loads(value)
        for key, value in (line.split("=", 1) for line in stdout.splitlines())
    }


def test_an_unknown_executor_is_refused_with_the_choices(tmp_path):
    done = _run(tmp_path, "env", "kubernetes")
    assert done.returncode != 0
    assert "ORCHARD_EXECUTOR='kubernetes' is not known: set it to local or celery" in done.stderr


def test_celery_brings_a_private_broker_and_the_workers(tmp_path):
    env = _exports(_run(tmp_path, "env", "CeleryExecutor").stdout)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    broker = env["AIRFLOW__CELERY__BROKER_URL"]
    redis = tmp_path / "airflow" / "redis"
    password, port = (redis / "password").read_text(), (redis / "port").read_text()
    assert broker == f"redis://:{password}@127.0.0.1:{port}/0"
    assert (redis / "password").stat().st_mode & 0o077 == 0  # readable by its owner only
    assert _exports(_run(tmp_path, "env", "celery").stdout)["AIRFLOW__CELERY__BROKER_URL"] == broker  # kept
    status = _run(tmp_path, "status", "celery").stdout
    for service in ("redis", "scheduler", "worker-1", "worker-2", "flower"):
        assert f"{service} " in status, status


def test_local_has_no_celery_settings(tmp_path):
    env = _exports(_run(tmp_path, "env", "local").stdout)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert not [key for key in env if key.startswith("AIRFLOW__CELERY__")]


def test_a_worker_is_named_in_its_task_instances(monkeypatch):
    monkeypatch.setenv("ORCHARD_WORKER_NAME", "worker-2")
    assert hostname().startswith("worker-2@")
    monkeypatch.delenv("ORCHARD_WORKER_NAME")
    assert "@" not in hostname()
