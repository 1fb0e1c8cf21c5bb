"""Airflow notifiers that page on-call: per task on its final failure, per run as a summary, on a deadline.

Airflow calls a task's on_failure_callback only when no retry is left (a failed try that will be
retried calls on_retry_callback instead), so attaching TaskFailureNotifier through default args
alerts once per failed task, never on retries.
"""

from __future__ import annotations

import asyncio
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
    """Deadline-alert callback (runs in the triggerer): the DAG run has not finished in time.

    Airflow 3.3 hands it `context` with the run as the REST API shows it (`dag_run_id`, `logical_date`)
    and the deadline's time.
    """
    context = context or {}
    dag_run = context.get("dag_run") or {}
    if not isinstance(dag_run, dict):
        dag_run = {
            "dag_run_id": getattr(dag_run, "run_id", ""),
            "logical_date": getattr(dag_run, "logical_date", ""),
        }
    due = (context.get("deadline") or {}).get("deadline_time")
    # Sending blocks (HTTP, SMTP, up to a timeout per channel): off the triggerer's event loop, which
    # every deferred task of the deployment shares.
    await asyncio.to_thread(
        dispatch,
        Alert(
            kind="deadline_missed",
            dag_id=dag_id or str(dag_run.get("dag_id") or ""),
            run_id=str(dag_run.get("dag_run_id") or dag_run.get("run_id") or ""),
            logical_date=str(dag_run.get("logical_date") or ""),
            error=f"{dag_id} has not finished by its deadline ({deadline}"
            + (f", due {due})." if due else ")."),
        ),
    )


def default_callbacks() -> dict[str, Any]:
    """The callbacks every task gets through default_args."""
    return {"on_failure_callback": [TaskFailureNotifier()]}
