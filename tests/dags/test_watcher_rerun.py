"""A failed run under Cosmos WATCHER, cleared after the fault is fixed, runs again and succeeds.

Real parts: the local deployment `make up` runs (scripts/airflow_local.py: scheduler, triggerer, dag-processor,
api-server, LocalExecutor, SQLite metadata) on free ports, the tiny dbt project, the embedded warehouse. The
fault is in the data, so it can be fixed while Airflow runs: int_tiny__labelled fails while a database named
`tiny_fault` exists. The DAG is orchard_intraday, its models tagged `intraday` here: the same `transform` group
as the nightly's (orchestration.factory), without the loads, freshness and publish steps that would only make
the test longer.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagtest_helpers import copy_tiny_project

from orchard.settings import ClickHouseSettings
from orchard.warehouse.client import get_client
from orchard.warehouse.lifecycle import free_port
from orchard_dev.airflow_api import AirflowAPI

pytestmark = [pytest.mark.dags, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
FAULTY_MODEL = """
select
    numbers.n as n,
    labels.label as label,
    numbers.interval_start as interval_start,
    numbers.interval_end as interval_end
from {{ ref('stg_tiny__numbers') }} as numbers
left join {{ ref('tiny_labels') }} as labels on numbers.n = labels.n
where throwIf((select count() from system.databases where name = 'tiny_fault') > 0, 'tiny_fault is set') = 0
"""
GROUP = "transform."
DAG_ID = "orchard_intraday"


@pytest.fixture
def watcher_deployment(tmp_path_factory):
    """`airflow_local.py up` in WATCHER mode with the tiny project (its fault-able model); `down` after."""
    state = Path(tempfile.mkdtemp(prefix="orchard-watcher-"))
    project = copy_tiny_project(state / "dbt")
    (project / "models" / "intermediate" / "int_tiny__labelled.sql").write_text(FAULTY_MODEL)
    dbt_project = project / "dbt_project.yml"
    tags = dbt_project.read_text()
    for layer in ("intermediate", "marts", "nightly, seeds"):
        tags = tags.replace(f"+tags: [{layer}]", f"+tags: [{layer}, intraday]")
    dbt_project.write_text(tags)
    port, ch_port = free_port(), free_port()
    env = {
        **os.environ,
        "ORCHARD_STATE_DIR": str(state),
        "ORCHARD_AIRFLOW_PORT": str(port),
        "ORCHARD_AIRFLOW_PASSWORD": "watcher",
        "ORCHARD_CLICKHOUSE_HOST": "127.0.0.1",
        "ORCHARD_CLICKHOUSE_PORT": str(ch_port),
        "ORCHARD_CLICKHOUSE_PASSWORD": "watcher-warehouse",
        "ORCHARD_DBT_PROJECT_DIR": str(project),
        "ORCHARD_DBT_MANIFEST": str(project / "target" / "manifest.json"),
        "ORCHARD_EXECUTION_MODE": "watcher",
        "ORCHARD_NIGHTLY_CATCHUP": "false",
        "ORCHARD_NIGHTLY_START_DATE": "2099-01-01T00:00:00+00:00",  # only the run the test triggers
        "ORCHARD_TASK_RETRIES": "0",  # the fault stays until the test fixes it: fail at once
        "ORCHARD_DEADLINE_ALERTS": "false",
        "ORCHARD_BI": "off",
        "ORCHARD_ALERT_LOG": str(state / "alerts.jsonl"),
    }
    for key in ("AIRFLOW_HOME", "AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW_CONN_CLICKHOUSE_DEFAULT"):
        env.pop(key, None)
    script = [sys.executable, str(ROOT / "scripts" / "airflow_local.py")]
    try:
        up = subprocess.run([*script, "up"], env=env, capture_output=True, text=True, timeout=600)
        assert up.returncode == 0, up.stdout[-5000:] + up.stderr[-5000:]
        api = AirflowAPI(f"http://localhost:{port}", "admin", "watcher")
        api.wait_for_dag(DAG_ID)
        yield api, ClickHouseSettings(host="127.0.0.1", port=ch_port, password="watcher-warehouse")
    finally:
        subprocess.run([*script, "down"], env=env, capture_output=True, timeout=300)


def wait_for_run(api: AirflowAPI, run_id: str, timeout: float = 900) -> dict:
    """The run once finished; a slow answer from a busy api-server is asked again until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return api.wait_for_runs(DAG_ID, {run_id}, timeout=max(deadline - time.monotonic(), 1))[run_id]
        except (
            OSError
        ):  # a read timed out (socket.timeout); the wait's own TimeoutError says where runs stand
            if time.monotonic() > deadline:
                raise


def built_since(client, since: datetime) -> dict[str, list[str]]:
    """node name -> the statuses dbt's on-run-end hook logged for it since `since` (one per build)."""
    rows = client.query(
        "SELECT node_name, groupArray(status) FROM ops.dbt_node_results"
        " WHERE resource_type = 'model' AND invoked_at >= toDateTime64(%(since)s, 6, 'UTC') GROUP BY node_name",
        parameters={"since": since.timestamp()},
    ).result_rows
    return dict(rows)


def test_a_failed_watcher_run_cleared_after_the_fix_runs_again_and_builds_each_model_once(
    watcher_deployment,
):
    api, warehouse = watcher_deployment
    client = get_client(warehouse)
    client.command("CREATE DATABASE IF NOT EXISTS tiny_fault")
    run_id = api.api("POST", f"/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": {"sources": []}})[
        "dag_run_id"
    ]
    api.api("PATCH", f"/dags/{DAG_ID}", {"is_paused": False})
    assert wait_for_run(api, run_id)["state"] == "failed"
    first = {t: ti["state"] for t, ti in api.task_instances(DAG_ID, run_id).items()}
    assert first[GROUP + "dbt_producer_watcher"] == "failed"
    assert first[GROUP + "int_tiny__labelled_run"] == "failed", first
    assert first[GROUP + "fct_tiny.run"] == "upstream_failed", first
    assert first[GROUP + "stg_tiny__numbers_run"] == "success", first

    # the fault is fixed; the failed tasks are cleared as the UI's "Clear → Only failed" does
    client.command("DROP DATABASE tiny_fault")
    cleared_at = datetime.now(UTC)
    api.api(
        "POST",
        f"/dags/{DAG_ID}/clearTaskInstances",
        {"dag_run_id": run_id, "dry_run": False, "only_failed": True, "reset_dag_runs": True},
    )
    rerun = wait_for_run(api, run_id)
    tasks = {t: ti["state"] for t, ti in api.task_instances(DAG_ID, run_id).items()}
    assert rerun["state"] == "success", {t: s for t, s in tasks.items() if s != "success"}
    # the producer does not build a second time; each model that had not been built is built once, by its task
    assert tasks[GROUP + "dbt_producer_watcher"] == "skipped"
    assert built_since(client, cleared_at) == {
        "int_tiny__labelled": ["success"],
        "fct_tiny": ["success"],
    }
    assert client.command("SELECT count() FROM marts.fct_tiny") == 10
