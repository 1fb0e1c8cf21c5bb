"""What every Orchard DAG and task shares: owner, retries, the failure notifier, tags, pool."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from orchard import settings
from orchard.alerting.notifier import RunFailureNotifier, TaskFailureNotifier

OWNER = "data-platform"
# One run at a time: runs of a DAG rebuild the same tables, and two at once race on dbt's table
# swaps (a backfill with two active runs failed with TABLE_ALREADY_EXISTS). Backfills queue up.
MAX_ACTIVE_RUNS = 1


def default_args(**overrides: Any) -> dict[str, Any]:
    """Default args for every task: the notifier fires once, on the final failure (not on retries)."""
    return {
        "owner": OWNER,
        "retries": settings.TASK_RETRIES,
        "retry_delay": timedelta(seconds=settings.TASK_RETRY_DELAY_S),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=15),
        "execution_timeout": timedelta(hours=2),
        "on_failure_callback": [TaskFailureNotifier()],
        **overrides,
    }


def dag_callbacks() -> dict[str, Any]:
    """DAG-level callbacks: one summary per failed run (fires in Airflow 3.3.2; see tests/dags)."""
    return {"on_failure_callback": [RunFailureNotifier()]}
