"""The alert on-call receives: what failed, where, when, the error's first lines and a log link; no secrets."""

from __future__ import annotations

import re
import traceback
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

ERROR_LINES = 8
# Secrets can sneak into error text as URL credentials or key=value pairs; scrub both patterns.
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@")
_KEY_VALUE = re.compile(
    r"(?i)(?P<key>password|passwd|secret|token|api[_-]?key|authorization)(?P<sep>\s*[=:]\s*)(?P<val>[^\s,;&'\"]+)"
)
_SLACK_HOOK = re.compile(r"https://hooks\.slack\.com/services/\S+")
REDACTED = "***"
FAILED_STATES = {"failed", "TaskInstanceState.FAILED"}


def redact(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """Remove known secret values and credential-shaped substrings from text."""
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{REDACTED}@", text)
    text = _KEY_VALUE.sub(lambda m: f"{m['key']}{m['sep']}{REDACTED}", text)
    text = _SLACK_HOOK.sub(REDACTED, text)
    try:  # Airflow's masker knows every connection password and variable the task touched.
        from airflow.sdk._shared.secrets_masker.secrets_masker import redact as airflow_redact

        text = str(airflow_redact(text))
    except Exception:  # noqa: S110 - masking is best effort on top of our own scrubbing
        pass
    return text


def first_lines(exception: BaseException | str | None, limit: int = ERROR_LINES) -> str:
    """The error's message (not the whole traceback): the lines on-call reads first."""
    if exception is None:
        return "(no exception recorded: the task may have been killed or timed out)"
    if isinstance(exception, BaseException):
        text = "".join(traceback.format_exception_only(type(exception), exception))
    else:
        text = str(exception)
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more lines in the task log)"]
    return "\n".join(lines)


@dataclass
class Alert:
    """One alert; `kind` is task_failed, run_failed or deadline_missed."""

    kind: str
    dag_id: str
    run_id: str = ""
    task_id: str = ""
    logical_date: str = ""
    try_number: int | None = None
    error: str = ""
    log_url: str = ""
    failed_tasks: list[str] = field(default_factory=list)
    # for a failed dbt test: failing rows, the model's owner, the loads that fed it (dbt_failures.FailedTest)
    dbt_failures: list[dict[str, Any]] = field(default_factory=list)
    # for a refused load: source, the file or table, its first bad rows (load_failures.FailedLoad)
    load_failure: dict[str, Any] = field(default_factory=dict)
    details: str = ""
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def title(self) -> str:
        if self.kind == "task_failed":
            return f"[orchard] task failed: {self.dag_id}.{self.task_id}"
        if self.kind == "run_failed":
            return f"[orchard] run failed: {self.dag_id} ({len(self.failed_tasks)} failed task(s))"
        return f"[orchard] deadline missed: {self.dag_id}"

    def text(self) -> str:
        lines = [self.title, f"DAG: {self.dag_id}"]
        if self.task_id:
            lines.append(f"Task: {self.task_id}")
        lines += [f"Run: {self.run_id}", f"Logical date: {self.logical_date}"]
        if self.try_number is not None:
            lines.append(f"Try: {self.try_number}")
        if self.failed_tasks:
            lines.append("Failed tasks: " + ", ".join(self.failed_tasks))
        if self.error:
            lines += ["Error:", self.error]
        if self.details:
            lines += ["What broke:", self.details]
        if self.log_url:
            lines.append(f"Log: {self.log_url}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "title": self.title}

    def redacted(self, secrets: list[str] | tuple[str, ...] = ()) -> Alert:
        """A copy whose free-text fields are scrubbed of secrets."""
        data = asdict(self)
        data["error"] = redact(self.error, secrets)
        data["log_url"] = redact(self.log_url, secrets)
        data["details"] = redact(self.details, secrets)
        data["dbt_failures"] = _redact_values(data["dbt_failures"], secrets)
        data["load_failure"] = _redact_values(data["load_failure"], secrets)
        return Alert(**data)


def _redact_values(value: Any, secrets: list[str] | tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, list):
        return [_redact_values(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: _redact_values(v, secrets) for k, v in value.items()}
    return value


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value or "")


def _log_url(ti: Any) -> str:
    try:
        return str(ti.log_url)
    except Exception:
        return ""


def task_alert(context: dict[str, Any]) -> Alert:
    """Build the alert for a task's final failure from an Airflow task context."""
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    failures = _failed_dbt_tests(context)
    load = _failed_load(context)
    return Alert(
        dbt_failures=[f.as_dict() for f in failures],
        load_failure=load.as_dict() if load else {},
        details="\n".join([f.text() for f in failures] + ([load.text()] if load else [])),
        kind="task_failed",
        dag_id=getattr(ti, "dag_id", "") or getattr(dag_run, "dag_id", ""),
        run_id=getattr(ti, "run_id", "") or getattr(dag_run, "run_id", ""),
        task_id=getattr(ti, "task_id", ""),
        logical_date=_iso(context.get("logical_date") or getattr(dag_run, "logical_date", None)),
        try_number=getattr(ti, "try_number", None),
        error=first_lines(context.get("exception")) + _watched_dbt_error(context),
        log_url=_log_url(ti),
    )


def _failed_dbt_tests(context: dict[str, Any]) -> list:
    """For a task whose dbt tests failed: failing rows, owner and upstream loads (dbt_failures)."""
    try:
        from orchard.alerting.dbt_failures import for_task

        return for_task(context)
    except Exception:  # the alert still goes out with what the task itself knows
        return []


def _failed_load(context: dict[str, Any]) -> Any:
    """For a task whose load was refused: the file or table and its first bad rows (load_failures)."""
    try:
        from orchard.alerting.load_failures import for_task

        return for_task(context)
    except Exception:  # the alert still goes out with what the task itself knows
        return None


def _watched_dbt_error(context: dict[str, Any]) -> str:
    """For a Cosmos WATCHER model task: dbt's own error for its node, which the producer task kept in XCom.

    The watcher task's exception only says "failed, see the producer's log"; on-call needs dbt's message.
    """
    task, ti = context.get("task"), context.get("ti")
    producer, node = getattr(task, "producer_task_id", None), getattr(task, "model_unique_id", None)
    if not (producer and node and ti):
        return ""
    try:
        from cosmos.operators._watcher.state import get_dbt_event_xcom_key

        event = ti.xcom_pull(task_ids=producer, key=get_dbt_event_xcom_key(node))
    except Exception:  # the alert still goes out with what the task itself knows
        return ""
    message = (event or {}).get("msg") if isinstance(event, dict) else None
    return f"\ndbt ({node}): {first_lines(message)}" if message else ""


def _failed_tasks(context: dict[str, Any]) -> list[str]:
    """The run's failed task ids, asked of Airflow; at least the task whose failure ended the run."""
    dag_run = context.get("dag_run")
    ti = context.get("ti")
    try:
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        states = RuntimeTaskInstance.get_task_states(dag_id=dag_run.dag_id, run_ids=[dag_run.run_id])
        by_task = states.get(dag_run.run_id, states)
        failed = sorted(task for task, state in by_task.items() if str(state) in FAILED_STATES)
        if failed:
            return failed
    except Exception:  # not in a supervised process: fall back to what the context names
        pass
    return [ti.task_id] if getattr(ti, "task_id", None) else []


def run_alert(context: dict[str, Any]) -> Alert:
    """Build the run summary from a DAG-level failure callback context."""
    dag_run = context.get("dag_run")
    dag = context.get("dag")
    failed = _failed_tasks(context)
    reason = context.get("reason") or context.get("exception") or "the run failed"
    base_url = ""
    try:
        from airflow.sdk.configuration import conf

        base_url = conf.get("api", "base_url", fallback="http://localhost:8080/").rstrip("/")
    except Exception:
        base_url = "http://localhost:8080"
    dag_id = getattr(dag_run, "dag_id", "") or getattr(dag, "dag_id", "")
    run_id = getattr(dag_run, "run_id", "")
    return Alert(
        kind="run_failed",
        dag_id=dag_id,
        run_id=run_id,
        logical_date=_iso(getattr(dag_run, "logical_date", None) or context.get("logical_date")),
        error=first_lines(reason),
        failed_tasks=failed,
        log_url=f"{base_url}/dags/{dag_id}/runs/{run_id}" if run_id else "",
    )
