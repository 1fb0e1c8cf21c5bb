"""Real runs of orchard_nightly with `airflow dags test` against an embedded warehouse (tiny dbt project):
a good run fills the marts with its own data interval; a failing model alerts once per channel."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dagtest_helpers import dag_env, dbt_results, run_dag

from orchard.warehouse.client import get_client

pytestmark = [pytest.mark.dags, pytest.mark.slow]


def test_nightly_run_builds_the_models_with_the_run_interval_and_publishes(
    airflow_home, tiny_project, dag_warehouse, tmp_path
):
    env = dag_env(dag_warehouse, tmp_path)
    started = datetime.now(UTC)
    run = run_dag("orchard_nightly", "2026-11-20T02:00:00+00:00", env, conf={"sources": []})

    assert run["state"] == "success", run["output"]
    assert all(state == "success" for state, _ in run["tasks"].values()), run["tasks"]
    client = get_client(dag_warehouse)
    rows = client.query(
        "SELECT n, label, interval_start, interval_end FROM marts.fct_tiny ORDER BY n"
    ).result_rows
    assert len(rows) == 10 and rows[1][1] == "one"
    start, end = run["interval"]
    assert rows[0][2] == start.isoformat() and rows[0][3] == end.isoformat()
    assert end.isoformat().startswith("2026-11-20T02:00")
    # publish: dbt's hook logged every node in ops (the ops mart built in publish too), BI refresh counted the
    # exposed mart, docs generated
    results = dbt_results(client, started)
    assert results == {
        ("model", "success"): 4,
        ("test", "pass"): 2,
        ("seed", "success"): 1,
        ("snapshot", "success"): 1,
    }
    assert run["xcom"]["publish.bi_refresh"] == {"tiny_dashboard": {"marts.fct_tiny": 10}}
    assert (tmp_path / "dbt-docs" / "index.html").exists()
    assert not (tmp_path / "alerts.jsonl").exists()


def test_failing_model_alerts_once_per_channel_and_stops_downstream(
    airflow_home, tiny_project, dag_warehouse, alert_channels, tmp_path
):
    env = dag_env(dag_warehouse, tmp_path, ORCHARD_TINY_FAIL="1")
    run = run_dag("orchard_nightly", "2026-11-19T02:00:00+00:00", env, conf={"sources": []})

    assert run["state"] == "failed"
    tasks = run["tasks"]
    assert tasks["transform.int_tiny__labelled_model_build"] == ("failed", 2)  # retried once, then failed
    assert tasks["transform.fct_tiny_model_build"][0] == "upstream_failed"
    for task_id in ("publish.ops_marts", "publish.bi_refresh", "publish.dbt_docs"):
        assert tasks[task_id][0] == "upstream_failed", task_id
    assert tasks["transform.stg_tiny__numbers_model_build"][0] == "success"

    http, smtp = alert_channels["http"], alert_channels["smtp"]
    slack = [b["text"] for b in http.bodies(alert_channels["slack_path"])]
    hooks = http.bodies("/hook")
    mails = smtp.messages
    for channel in (slack, [h["text"] for h in hooks], mails):
        task_alerts = [m for m in channel if "task failed" in m]
        run_alerts = [m for m in channel if "run failed" in m]
        assert len(task_alerts) == 1, channel  # the final failure only, not the retry
        assert len(run_alerts) == 1, channel  # one summary per failed run
        text = task_alerts[0]
        assert "transform.int_tiny__labelled_model_build" in text and "orchard_nightly" in text
        assert run["run_id"] in text and "Try: 2" in text and "tiny model failed on purpose" in text
        assert "transform.int_tiny__labelled_model_build" in run_alerts[0]
    assert [h["kind"] for h in hooks] == ["task_failed", "run_failed"]
    assert not (tmp_path / "alerts.jsonl").exists(), "delivered alerts do not also go to the fallback log"


def test_nightly_run_rendered_per_tag_builds_every_group(airflow_home, tiny_project, dag_warehouse, tmp_path):
    """The third granularity runs too (per model and per layer have their own runs): one `dbt build` per
    tag, in the order of the dependencies between the tags, then the ops marts in publish."""
    env = dag_env(dag_warehouse, tmp_path, ORCHARD_RENDER_GRANULARITY="tag")
    started = datetime.now(UTC)
    run = run_dag("orchard_nightly", "2026-11-18T02:00:00+00:00", env, conf={"sources": []})

    assert run["state"] == "success", run["output"]
    built = {task for task in run["tasks"] if task.startswith("transform.build_")}
    assert built == {
        f"transform.build_{t}" for t in ("seeds", "snapshots", "staging", "intermediate", "marts")
    }
    client = get_client(dag_warehouse)
    assert client.command("SELECT count() FROM marts.fct_tiny") == 10
    assert client.command("SELECT n FROM marts.ops_tiny_report") == 10
    assert dbt_results(client, started)[("model", "success")] == 4
