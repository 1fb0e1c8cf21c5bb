"""On-call alerts under the real scheduler, triggerer and dag-processor, in the default execution mode
(WATCHER), sent to local HTTP and SMTP listeners: a failing model pages once per channel and stops what
depends on it; a run that outlives its deadline raises the deadline alert."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# The tiny project's int_tiny__labelled fails for the interval ending 2026-11-05 (see the model).
FAILING_DATE = "2026-11-05T02:00:00Z"


def wait_for_alerts(airflow_up, kind: str, run_id: str, timeout: float = 120) -> dict[str, list[str]]:
    """Alerts go out from task processes, the dag-processor (run summary) and the triggerer (deadline):
    wait until every channel has one, then a little longer to catch any duplicate."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(airflow_up.alerts(kind, run_id).values()):
            time.sleep(5)
            return airflow_up.alerts(kind, run_id)
        time.sleep(2)
    return airflow_up.alerts(kind, run_id)


def test_failing_model_pages_once_per_channel_and_stops_downstream(airflow_up):
    airflow_up.api("PATCH", "/dags/orchard_nightly", {"is_paused": False})
    run = airflow_up.api(
        "POST", "/dags/orchard_nightly/dagRuns", {"logical_date": FAILING_DATE, "conf": {"sources": ["shop"]}}
    )
    run_id = run["dag_run_id"]
    assert airflow_up.wait_for_runs("orchard_nightly", {run_id})[run_id]["state"] == "failed"

    states = {task: ti["state"] for task, ti in airflow_up.task_instances("orchard_nightly", run_id).items()}
    assert states["transform.dbt_producer_watcher"] == "failed"  # the one `dbt build` hit the error
    assert states["transform.int_tiny__labelled_run"] == "failed"  # the model's own task shows it
    assert states["transform.stg_tiny__numbers_run"] == "success"  # upstream of it: built
    assert states["transform.fct_tiny.run"] == "upstream_failed"
    for task in ("publish.bi_refresh", "publish.dbt_docs"):
        assert states[task] == "upstream_failed", task

    runs = wait_for_alerts(airflow_up, "run_failed", run_id)
    tasks = wait_for_alerts(airflow_up, "task_failed", run_id)
    for channel in ("slack", "webhook", "email"):
        assert len(runs[channel]) == 1, (channel, runs[channel])  # one summary per failed run
        assert len(tasks[channel]) == 1, (channel, tasks[channel])  # the model task; not the producer too
        text = tasks[channel][0]
        assert "transform.int_tiny__labelled_run" in text and "orchard_nightly" in text, text
        assert "tiny model failed on purpose" in text, text  # dbt's own error, from the producer
        assert "transform.int_tiny__labelled_run" in runs[channel][0]
        assert "webhook-secret-value" not in text and "slack-secret-token" not in text


def test_a_run_past_its_deadline_raises_the_deadline_alert(airflow_up):
    airflow_up.api("PATCH", "/dags/orchard_nightly", {"is_paused": False})
    run = airflow_up.api(
        "POST", "/dags/orchard_nightly/dagRuns", {"logical_date": None, "conf": {"sources": ["shop"]}}
    )
    run_id = run["dag_run_id"]
    finished = airflow_up.wait_for_runs("orchard_nightly", {run_id})[run_id]
    assert finished["state"] == "success"
    alerts = wait_for_alerts(airflow_up, "deadline_missed", run_id)
    for channel, texts in alerts.items():
        assert len(texts) == 1, (channel, texts)
        assert (
            "orchard_nightly" in texts[0]
            and f"0:00:{airflow_up.deadline_s:02d} after it was queued" in texts[0]
        )
