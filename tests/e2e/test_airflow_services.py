"""Orchard's local Airflow for real: `make up` output, a backfill through the REST API, the UI links."""

from __future__ import annotations

import urllib.request
from datetime import datetime

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_up_prints_the_url_and_the_login(airflow_up):
    assert airflow_up.url in airflow_up.up_output
    assert "login: admin" in airflow_up.up_output and airflow_up.password in airflow_up.up_output


def test_settings_yaml_is_imported(airflow_up):
    assert airflow_up.api("GET", "/pools/clickhouse")["slots"] == 4
    assert airflow_up.api("GET", "/pools/dbt_build")["slots"] == 1
    conn = airflow_up.api("GET", "/connections/clickhouse_default")
    assert conn["conn_type"] == "generic" and conn["host"] == "127.0.0.1"


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_backfill_from_the_cli_gives_a_run_per_date_bounded_by_it_beside_a_manual_run(airflow_up):
    """A backfill of two dates created with the CLI (the UI's, through the REST API: test_ui) gives a run per
    date, each with the conf given and loading its own date's interval. It runs beside a manual run (an
    Airflow 3 backfill does not count against the DAG's max_active_runs): all succeed, because their dbt
    builds take turns in the one-slot build pool."""
    airflow_up.api("PATCH", "/dags/orchard_nightly", {"is_paused": False})
    airflow_up.wait_for_backfills_to_complete("orchard_nightly")
    manual = airflow_up.api(
        "POST",
        "/dags/orchard_nightly/dagRuns",
        {"logical_date": "2026-11-20T02:00:00Z", "conf": {"sources": ["shop"]}},
    )
    proc = airflow_up.cli(
        "backfill", "create", "--dag-id", "orchard_nightly",
        "--from-date", "2026-11-10T02:00:00+00:00", "--to-date", "2026-11-11T02:00:00+00:00",
        "--dag-run-conf", '{"sources": ["shop"]}', "--max-active-runs", "1",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    runs = [r for r in airflow_up.runs("orchard_nightly") if r["run_type"] == "backfill"]
    assert sorted(r["logical_date"][:10] for r in runs) == ["2026-11-10", "2026-11-11"]
    # one after another (the backfill's max_active_runs), beside the manual run: on two shared cores a run
    # takes 1-6 min under the CeleryExecutor
    finished = airflow_up.wait_for_runs("orchard_nightly", {r["dag_run_id"] for r in runs}, timeout=900)
    assert {r["state"] for r in finished.values()} == {"success"}, finished
    ends = sorted(r["data_interval_end"][:10] for r in finished.values())
    assert ends == ["2026-11-11", "2026-11-12"]  # logical dates 10..11 = interval starts
    for run_id, run in finished.items():
        assert run["conf"]["sources"] == ["shop"], run["conf"]
        shop = airflow_up.xcom("orchard_nightly", run_id, "extract_load.load_shop")
        start, end = (_when(v) for v in shop["interval"])
        assert start == _when(run["data_interval_start"]) and end == _when(run["data_interval_end"])
        assert airflow_up.xcom("orchard_nightly", run_id, "extract_load.load_instacart")["skipped"] is True

    others = {r["dag_run_id"] for r in airflow_up.runs("orchard_nightly") if r["run_type"] != "backfill"}
    assert manual["dag_run_id"] in others
    finished.update(airflow_up.wait_for_runs("orchard_nightly", others))
    assert {r["state"] for r in finished.values()} == {"success"}, finished
    spans = {run_id: (_when(r["start_date"]), _when(r["end_date"])) for run_id, r in finished.items()}
    assert any(
        spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1] for a in others for b in spans.keys() - others
    ), f"no run overlapped the backfill, so this test saw no concurrency: {spans}"
    producers = {
        run_id: airflow_up.api(
            "GET", f"/dags/orchard_nightly/dagRuns/{run_id}/taskInstances/transform.dbt_producer_watcher"
        )
        for run_id in finished
    }
    builds = sorted(
        (_when(ti["start_date"]), _when(ti["end_date"]), run_id) for run_id, ti in producers.items()
    )
    for (_, first_end, first), (second_start, _, second) in zip(builds, builds[1:], strict=False):
        assert first_end <= second_start, f"the dbt builds of {first} and {second} overlapped"


def test_plugin_serves_the_dashboards_page(airflow_up):
    page = urllib.request.urlopen(f"{airflow_up.url}/orchard/dashboards", timeout=30).read().decode()
    assert "Orchard dashboards" in page
