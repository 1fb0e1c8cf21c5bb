"""dbt's run_results.json of each Cosmos task, kept per DAG run so that an alert can say which tests failed
and why (orchard.alerting.dbt_failures). The results reach the warehouse only through dbt's on-run-end hook
(ops.dbt_node_results); these files are the alert's local copy, never loaded anywhere."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from orchard import settings


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def run_dir(dag_id: str, run_id: str) -> Path:
    """Where the tasks of one DAG run keep their run_results.json, one file per task."""
    return settings.DBT_ARTIFACTS_DIR / _safe(dag_id) / _safe(run_id)


def keep_run_results(project_dir: str, context: dict[str, Any] | None = None, **_: Any) -> None:
    """Cosmos callback, run after dbt and before the task raises: copy the task's run_results.json."""
    source = Path(project_dir) / "target" / "run_results.json"
    ti = (context or {}).get("ti")
    if not source.exists() or ti is None:
        return
    target = run_dir(ti.dag_id, ti.run_id) / f"{_safe(ti.task_id)}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
