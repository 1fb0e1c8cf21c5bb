"""Airflow notifiers that page on-call: per task on its final failure, per run as a summary, on a deadline.

Airflow calls a task's on_failure_callback only when no retry is left (a failed try that will be
retried calls on_retry_callback instead), so attaching TaskFailureNotifier through default args
alerts once per failed task, never on retries.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import BaseNotifier

from orchard.alerting.channels import dispatch
from orchard.alerting.message import Alert, run_alert, task_alert

log = logging.getLogger(__name__)


class _PlainNotifier(BaseNotifier):
    """A notifier without templates: `airflow dags test` hands DAG callbacks a SerializedDAG, which
    cannot build a Jinja environment, so BaseNotifier's rendering step would fail before notify()."""

    def render_template_fields(self, context, jinja_env=None) -> None:
        return None


class TaskFailureNotifier(_PlainNotifier):
    """on_failure_callback for every task: one alert per task that failed after its last retry."""

    def notify(self, context: dict[str, Any]) -> None:
        try:
            dispatch(task_alert(context))
        except Exception:  # an alerting bug must not mask the task's own failure
            log.exception("could not send the task failure alert")


class RunFailureNotifier(_PlainNotifier):
    """DAG-level on_failure_callback: one summary per failed run, listing the failed tasks."""

    def notify(self, context: dict[str, Any]) -> None:
        try:
            dispatch(run_alert(context))
        except Exception:
            log.exception("could not send the run failure summary")


async def deadline_missed(
    dag_id: str = "", deadline: str = "", context: dict | None = None, **_: Any
) -> None:
    """Deadline-alert callback (runs in the triggerer): the DAG run has not finished in time."""
    context = context or {}
    dag_run = context.get("dag_run") or {}
    run_id = dag_run.get("run_id", "") if isinstance(dag_run, dict) else getattr(dag_run, "run_id", "")
    dispatch(
        Alert(
            kind="deadline_missed",
            dag_id=dag_id,
            run_id=str(run_id),
            error=f"{dag_id} has not finished by its deadline ({deadline}).",
        )
    )


def default_callbacks() -> dict[str, Any]:
    """The callbacks every task gets through default_args."""
    return {"on_failure_callback": [TaskFailureNotifier()]}
