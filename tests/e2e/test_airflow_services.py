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


def test_backfill_of_three_dates_gives_three_runs_bounded_by_their_dates(airflow_up):
    """The backfill runs beside a manual run (an Airflow 3 backfill does not count against the DAG's
    max_active_runs): both succeed, because their dbt builds take turns in the one-slot build pool."""
    airflow_up.api("PATCH", "/dags/orchard_nightly", {"is_paused": False})
    airflow_up.wait_for_backfills_to_complete("orchard_nightly")
    manual = airflow_up.api(
        "POST",
        "/dags/orchard_nightly/dagRuns",
        {"logical_date": "2026-11-20T02:00:00Z", "conf": {"sources": ["shop"]}},
    )
    backfill = airflow_up.api(
        "POST",
        "/backfills",
        {
            "dag_id": "orchard_nightly",
            "from_date": "2026-11-10T02:00:00Z",
            "to_date": "2026-11-12T02:00:00Z",
            "dag_run_conf": {"sources": ["shop"]},
            "max_active_runs": 1,
        },
    )
    assert backfill["dag_id"] == "orchard_nightly"
    runs = [r for r in airflow_up.runs("orchard_nightly") if r["run_type"] == "backfill"]
    assert len(runs) == 3
    # three runs one after another (the backfill's max_active_runs), beside the nightly's own: on two shared
    # cores each took 2-6 min under the CeleryExecutor, so the default 600 s was met with seconds to spare
    finished = airflow_up.wait_for_runs("orchard_nightly", {r["dag_run_id"] for r in runs}, timeout=1200)
    assert {r["state"] for r in finished.values()} == {"success"}, finished
    ends = sorted(r["data_interval_end"][:10] for r in finished.values())
    assert ends == ["2026-11-11", "2026-11-12", "2026-11-13"]  # logical dates 10..12 = interval starts
    for run_id, run in finished.items():
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


def test_backfill_from_the_cli_runs_its_own_date(airflow_up):
    airflow_up.api("PATCH", "/dags/orchard_nightly", {"is_paused": False})
    airflow_up.wait_for_backfills_to_complete("orchard_nightly")
    date = "2026-11-14T02:00:00+00:00"
    proc = airflow_up.cli(
        "backfill", "create", "--dag-id", "orchard_nightly", "--from-date", date, "--to-date", date,
        "--dag-run-conf", '{"sources": ["shop"]}',
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    runs = [
        r
        for r in airflow_up.runs("orchard_nightly")
        if r["run_type"] == "backfill" and r["logical_date"].startswith("2026-11-14")
    ]
    assert len(runs) == 1
    run_id = runs[0]["dag_run_id"]
    run = airflow_up.wait_for_runs("orchard_nightly", {run_id})[run_id]
    assert run["state"] == "success" and run["conf"]["sources"] == ["shop"]
    shop = airflow_up.xcom("orchard_nightly", run_id, "extract_load.load_shop")
    assert [v[:10] for v in shop["interval"]] == ["2026-11-14", "2026-11-15"]


def test_plugin_serves_the_dashboards_page(airflow_up):
    page = urllib.request.urlopen(f"{airflow_up.url}/orchard/dashboards", timeout=30).read().decode()
    assert "Orchard dashboards" in page
