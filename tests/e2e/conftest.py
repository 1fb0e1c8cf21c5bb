"""The e2e tier: Orchard's local Airflow (scripts/airflow_local.py up) on free ports and a throwaway state
directory, with the tiny dbt project; stopped with `down` at the end of the session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from orchard.warehouse.lifecycle import free_port

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "dags" / "fixtures" / "tiny_dbt"
PASSWORD = "orchard-e2e-password"


class Airflow:
    """A running local deployment and a small REST client for it."""

    def __init__(self, url: str, env: dict[str, str], state: Path):
        self.url, self.env, self.state = url, env, state
        self.user, self.password = "admin", PASSWORD
        self._token = None

    @property
    def token(self) -> str:
        if self._token is None:
            body = json.dumps({"username": self.user, "password": self.password}).encode()
            request = urllib.request.Request(
                f"{self.url}/auth/token", data=body, headers={"Content-Type": "application/json"}
            )
            self._token = json.loads(urllib.request.urlopen(request, timeout=30).read())["access_token"]
        return self._token

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.url}/api/v2{path}",
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        for attempt in range(10):
            try:
                return json.loads(urllib.request.urlopen(request, timeout=60).read() or b"{}")
            except urllib.error.HTTPError as exc:
                # the api-server answers 503 for a moment when its workers are saturated on 2 shared cores
                if exc.code != 503 or attempt == 9:
                    raise
            except urllib.error.URLError:
                if attempt == 9:
                    raise
            time.sleep(3)
        raise AssertionError("unreachable")

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.api("GET", f"/dags/{dag_id}")
                return
            except urllib.error.HTTPError:
                time.sleep(2)
        raise AssertionError(
            f"{dag_id} did not appear within {timeout} s: see {self.state}/airflow/service-logs"
        )

    def runs(self, dag_id: str) -> list[dict]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns?limit=100")["dag_runs"]

    def wait_for_runs(self, dag_id: str, run_ids: set[str], timeout: float = 600) -> dict[str, dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = {r["dag_run_id"]: r for r in self.runs(dag_id) if r["dag_run_id"] in run_ids}
            if len(runs) == len(run_ids) and all(r["state"] in ("success", "failed") for r in runs.values()):
                return runs
            time.sleep(3)
        raise AssertionError(f"runs {run_ids} of {dag_id} did not finish within {timeout} s")

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict]:
        data = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=100")
        return {ti["task_id"]: ti for ti in data["task_instances"]}

    def xcom(self, dag_id: str, run_id: str, task_id: str):
        data = self.api(
            "GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
        )
        return data["value"]


@pytest.fixture(scope="session")
def airflow_up():
    """`scripts/airflow_local.py up` with everything on free ports under a temp dir; `down` afterwards."""
    state = Path(tempfile.mkdtemp(prefix="orchard-e2e-"))
    project = state / "dbt"
    shutil.copytree(TINY, project)
    api_port, ch_port = free_port(), free_port()
    conn = {
        "conn_type": "generic",
        "host": "127.0.0.1",
        "port": ch_port,
        "login": "default",
        "schema": "default",
    }
    env = {
        **os.environ,
        "ORCHARD_STATE_DIR": str(state),
        "ORCHARD_AIRFLOW_PORT": str(api_port),
        "ORCHARD_AIRFLOW_PASSWORD": PASSWORD,
        "ORCHARD_CLICKHOUSE_PORT": str(ch_port),
        "AIRFLOW_CONN_CLICKHOUSE_DEFAULT": json.dumps(conn),
        "ORCHARD_DBT_PROJECT_DIR": str(project),
        "ORCHARD_DBT_MANIFEST": str(project / "target" / "manifest.json"),
        "ORCHARD_NIGHTLY_START_DATE": "2026-11-01T00:00:00+00:00",
        "ORCHARD_NIGHTLY_CATCHUP": "false",  # unpausing must not queue weeks of runs on a 2-core machine
        "ORCHARD_TASK_RETRIES": "0",
        "ORCHARD_ALERT_LOG": str(state / "alerts.jsonl"),
    }
    env.pop("AIRFLOW_HOME", None)
    env.pop("AIRFLOW__CORE__DAGS_FOLDER", None)
    script = [sys.executable, str(ROOT / "scripts" / "airflow_local.py")]
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from orchard.sources.instacart.sample import write_sample as w; import sys; "
            "w(__import__('pathlib').Path(sys.argv[1]), 0.0002, 3)",
            str(state / "data" / "instacart"),
        ],
        env=env,
        check=True,
    )
    up = subprocess.run([*script, "up"], env=env, capture_output=True, text=True, timeout=600)
    assert up.returncode == 0, up.stdout[-5000:] + up.stderr[-5000:]
    airflow = Airflow(f"http://localhost:{api_port}", env, state)
    airflow.up_output = up.stdout
    try:
        airflow.wait_for_dag("orchard_nightly")
        yield airflow
    finally:
        subprocess.run([*script, "down"], env=env, capture_output=True, timeout=300)
