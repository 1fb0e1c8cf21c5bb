"""dbt run artifacts: each Cosmos task keeps its run_results.json, `publish` loads them into `ops`.

Cosmos runs every task in a throwaway copy of the project, so its run_results.json would vanish; the
callback below copies it to DBT_ARTIFACTS_DIR/<dag>/<run>/<task>.json first.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchard import settings

OPS_DATABASE = "ops"
COLUMNS = [
    "loaded_at",
    "dag_id",
    "run_id",
    "task_id",
    "invocation_id",
    "unique_id",
    "resource_type",
    "status",
    "execution_time",
    "rows_affected",
    "message",
]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def run_dir(dag_id: str, run_id: str) -> Path:
    return settings.DBT_ARTIFACTS_DIR / _safe(dag_id) / _safe(run_id)


def capture_run_results(project_dir: str, context: dict[str, Any] | None = None, **_: Any) -> None:
    """Cosmos callback: keep the task's run_results.json for the publish step."""
    source = Path(project_dir) / "target" / "run_results.json"
    ti = (context or {}).get("ti")
    if not source.exists() or ti is None:
        return
    target = run_dir(ti.dag_id, ti.run_id) / f"{_safe(ti.task_id)}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def collect(dag_id: str, run_id: str) -> list[list[Any]]:
    """One row per dbt node result of the run, from every captured run_results.json."""
    rows = []
    now = datetime.now(UTC)
    # oldest first: a cleared and re-run task's results come after the ones they replace
    for path in sorted(run_dir(dag_id, run_id).glob("*.json"), key=lambda p: p.stat().st_mtime):
        data = json.loads(path.read_text())
        invocation = data.get("metadata", {}).get("invocation_id", "")
        for result in data.get("results", []):
            unique_id = result.get("unique_id", "")
            rows.append(
                [
                    now,
                    dag_id,
                    run_id,
                    path.stem,
                    invocation,
                    unique_id,
                    unique_id.split(".", 1)[0],
                    str(result.get("status", "")),
                    float(result.get("execution_time") or 0.0),
                    int((result.get("adapter_response") or {}).get("rows_affected") or 0),
                    str(result.get("message") or "")[:1000],
                ]
            )
    return rows


def summarize(rows: list[list[Any]]) -> dict[str, int]:
    """models built, tests passed/failed, snapshots and seeds: each node counted once, by its latest result
    (a cleared run keeps its earlier results in the table, with their own invocation ids)."""
    summary = {"models_built": 0, "tests_passed": 0, "tests_failed": 0, "snapshots": 0, "seeds": 0}
    latest = {row[5]: row for row in rows}
    for row in latest.values():
        resource, status = row[6], row[7]
        if resource == "model" and status == "success":
            summary["models_built"] += 1
        elif resource == "test":
            summary["tests_passed" if status == "pass" else "tests_failed"] += 1
        elif resource == "snapshot" and status == "success":
            summary["snapshots"] += 1
        elif resource == "seed" and status == "success":
            summary["seeds"] += 1
    return summary


def load_into_warehouse(dag_id: str, run_id: str, client: Any = None) -> dict[str, int]:
    """Insert the run's dbt results into ops.dbt_run_results; return the summary."""
    from orchard.warehouse.client import get_client

    rows = collect(dag_id, run_id)
    client = client or get_client()
    client.command(f"CREATE DATABASE IF NOT EXISTS {OPS_DATABASE}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {OPS_DATABASE}.dbt_run_results (loaded_at DateTime64(6, 'UTC'), "
        "dag_id String, run_id String, task_id String, invocation_id String, unique_id String, "
        "resource_type LowCardinality(String), status LowCardinality(String), execution_time Float64, "
        "rows_affected Int64, message String) ENGINE = MergeTree ORDER BY (dag_id, run_id, unique_id)"
    )
    if rows:
        client.insert(f"{OPS_DATABASE}.dbt_run_results", rows, column_names=COLUMNS)
    return {**summarize(rows), "results": len(rows)}
