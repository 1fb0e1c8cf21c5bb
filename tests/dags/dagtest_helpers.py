"""Helpers for the DAG tier's real runs: the child environment and one `airflow dags test` run."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

CLICKHOUSE_CONN = "AIRFLOW_CONN_CLICKHOUSE_DEFAULT"
TINY_PROJECT = Path(__file__).parent / "fixtures" / "tiny_dbt"
REAL_MACROS = Path(__file__).parents[2] / "dbt" / "macros"
DAGS_FOLDER = Path(__file__).parents[2] / "dags"


def build_dag(name: str, granularity: str | None = None, execution_mode: str | None = None):
    """The DAG of dags/<name>.py, parsed again with these render settings, e.g. granularity="tag"."""
    from orchard import settings

    saved = settings.RENDER_GRANULARITY, settings.EXECUTION_MODE
    settings.RENDER_GRANULARITY = granularity or saved[0]
    settings.EXECUTION_MODE = execution_mode or saved[1]
    try:
        spec = importlib.util.spec_from_file_location(f"dag_file_{name}", DAGS_FOLDER / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.dag
    finally:
        settings.RENDER_GRANULARITY, settings.EXECUTION_MODE = saved


def copy_tiny_project(target: Path) -> Path:
    """The tiny dbt project at `target`, with the real project's schema naming and ops-results hooks."""
    shutil.copytree(TINY_PROJECT, target)
    (target / "macros").mkdir()
    for macro in ("generate_schema_name.sql", "ops_artifacts.sql"):
        shutil.copyfile(REAL_MACROS / macro, target / "macros" / macro)
    return target


def dag_env(warehouse, state_dir: Path, **extra: str) -> dict[str, str]:
    """Environment of an `airflow dags test` child: this tier's Airflow home, warehouse and state."""
    env = {
        **os.environ,
        CLICKHOUSE_CONN: warehouse.airflow_connection(),
        **warehouse.env(),
        "ORCHARD_STATE_DIR": str(state_dir),
        "ORCHARD_ALERT_LOG": str(state_dir / "alerts.jsonl"),
        "ORCHARD_TASK_RETRIES": "1",
        "ORCHARD_TASK_RETRY_DELAY_S": "0",
        "ORCHARD_DEADLINE_ALERTS": "false",  # see orchard.settings.DEADLINE_ALERTS
        # `airflow dags test` runs one task at a time, so WATCHER's model tasks would wait forever for a
        # producer that cannot start beside them. This tier runs LOCAL; tests/e2e runs the default,
        # WATCHER, under the real scheduler and triggerer.
        "ORCHARD_EXECUTION_MODE": "local",
        **extra,
    }
    return env


def dbt_results(client, since) -> dict[tuple[str, str], int]:
    """{(resource type, status): nodes} that dbt's on-run-end hook logged since `since`, each node once."""
    rows = client.query(
        "SELECT resource_type, status, count() FROM (SELECT unique_id, any(resource_type) AS resource_type,"
        " argMax(status, invoked_at) AS status FROM ops.dbt_node_results"
        " WHERE invoked_at >= toDateTime64(%(since)s, 6, 'UTC') GROUP BY unique_id) GROUP BY resource_type, status",
        parameters={"since": since.timestamp()},
    ).result_rows
    return {(kind, status): count for kind, status, count in rows}


def run_dag(dag_id: str, logical_date: str, env: dict[str, str], conf: dict | None = None) -> dict:
    """`airflow dags test` one run; return {run_id, state, tasks: {task_id: (state, try_number)}, xcom}."""
    cmd = [str(Path(sys.executable).parent / "airflow"), "dags", "test", dag_id, logical_date]
    if conf is not None:
        cmd += ["-c", json.dumps(conf)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    from airflow.models import DagRun, TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).first()
        assert run is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
        tis = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run.run_id).all()
        xcom = {
            x.task_id: XComModel.deserialize_value(x)
            for x in session.query(XComModel).filter_by(dag_id=dag_id, run_id=run.run_id, key="return_value")
        }
        return {
            "run_id": run.run_id,
            "state": str(run.state),
            "interval": (run.data_interval_start, run.data_interval_end),
            "tasks": {ti.task_id: (str(ti.state), ti.try_number) for ti in tis},
            "xcom": xcom,
            "output": proc.stdout[-20000:] + proc.stderr[-20000:],
        }
