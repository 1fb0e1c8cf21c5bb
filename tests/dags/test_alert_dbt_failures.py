"""An alert for a failed dbt test says what broke: a sample of the failing rows (dbt's stored failures), the
owner of the model under test (its meta) and the dlt load that fed it. Real parts throughout: the shop
simulator, a dlt load into the warehouse, `dbt build` failing on that data, the run_results.json a Cosmos
task keeps, and the provider notifiers posting to the local listeners."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from orchard import settings
from orchard.alerting.channels import dispatch
from orchard.alerting.message import task_alert
from orchard.load import run_shop
from orchard.orchestration.artifacts import capture_run_results
from orchard.sources.shop.sample import simulate

pytestmark = pytest.mark.dags

PROJECT = Path(__file__).parent / "fixtures" / "failing_dbt"
DBT = Path(sys.executable).parent / "dbt"
OWNER = "shop-analytics@orchard.example"
TEST_ID = "test.failing_shop.accepted_values_shop_order_statuses_status__preparing"


@pytest.fixture(scope="module")
def failed_build(warehouse, tmp_path_factory):
    """A shop loaded by dlt, then `dbt build` of the failing project: (project copy, raw database, report)."""
    root = tmp_path_factory.mktemp("failing-dbt")
    shop_url = f"sqlite:///{root / 'shop.db'}"
    simulate(shop_url, until=date(2026, 11, 6), start=date(2026, 11, 1), seed=3)
    raw = f"raw_shop_alert_{uuid.uuid4().hex[:8]}"
    report = run_shop(shop_url, settings=warehouse, database=raw, pipelines_dir=root / "dlt")
    project = root / "project"
    shutil.copytree(PROJECT, project)
    proc = subprocess.run(
        [
            str(DBT),
            "build",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(settings.PROJECT_ROOT / "dbt"),
            "--target",
            "ci",
            "--vars",
            json.dumps({"raw_shop_database": raw}),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "DO_NOT_TRACK": "1", "ORCHARD_DBT_SCHEMA": f"alert_{uuid.uuid4().hex[:8]}"},
        check=False,
    )
    assert proc.returncode == 1, proc.stdout[-3000:]  # the test fails; the model was built
    assert "accepted_values" in proc.stdout
    return project, raw, report


def test_alert_for_a_failed_dbt_test_carries_failing_rows_owner_and_upstream_load(
    failed_build, alert_channels, ch, tmp_path, monkeypatch
):
    project, raw, report = failed_build
    monkeypatch.setattr(settings, "ALERT_LOG", tmp_path / "alerts.jsonl")
    monkeypatch.setattr(settings, "DBT_ARTIFACTS_DIR", tmp_path / "artifacts")
    monkeypatch.setattr(settings, "DBT_MANIFEST_PATH", project / "target" / "manifest.json")
    # the task instance as Airflow hands it to callbacks: the fields the alert and Cosmos' callback read
    ti = SimpleNamespace(
        dag_id="orchard_nightly",
        run_id="scheduled__2026-11-06T02:00:00+00:00",
        task_id="transform.shop_order_statuses.test",
        try_number=3,
        log_url="http://localhost:8080/log",
    )
    capture_run_results(str(project), context={"ti": ti})  # what Cosmos runs after dbt, before it raises

    alert = task_alert({"ti": ti, "exception": RuntimeError("dbt test failed")})
    outcome = dispatch(alert)
    assert outcome == {"slack": "sent", "email": "sent", "webhook": "sent"}

    [hook] = alert_channels["http"].bodies("/hook")
    [failure] = hook["dbt_failures"]
    assert failure["test"].startswith(TEST_ID + ".") and failure["model"] == "shop_order_statuses"
    assert failure["owner"] == OWNER
    # failing rows: from the stored failures table dbt wrote, the statuses the test refused
    assert failure["stored_in"].endswith("`accepted_values_shop_order_statuses_status__preparing`")
    stored = ch.query(f"SELECT value_field, n_records FROM {failure['stored_in']} ORDER BY ALL").result_rows
    assert stored and {tuple(r.values()) for r in failure["failing_rows"]} == set(stored)
    assert {r["value_field"] for r in failure["failing_rows"]} <= {"shipped", "delivered"}
    assert failure["failures"] == len(stored)  # dbt counts the rows its test query returned
    # the upstream load: dlt's load id of the rows the model read, and how many rows it wrote
    [load] = failure["loads"]
    loaded = ch.query(f"SELECT _dlt_load_id, count() FROM `{raw}`.orders GROUP BY 1").result_rows
    assert (load["source"], load["table"]) == ("shop", "orders")
    assert [(load["load_id"], load["rows"])] == loaded and load["rows"] == report.rows["orders"]

    # the same facts, readable, in Slack's text and the email
    slack = alert_channels["http"].bodies(alert_channels["slack_path"])[0]["text"]
    email = alert_channels["smtp"].messages[0]
    for text in (slack, email, hook["text"]):
        assert f"dbt test {failure['test']} failed ({len(stored)} failures)" in text
        assert f"model: shop_order_statuses   owner: {OWNER}" in text
        assert f"fed by load {load['load_id']} of shop.orders ({load['rows']} rows)" in text
        assert '"value_field": "shipped"' in text or '"value_field": "delivered"' in text


def test_a_task_that_ran_no_dbt_test_gets_no_dbt_details(alert_channels, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "ALERT_LOG", tmp_path / "alerts.jsonl")
    monkeypatch.setattr(settings, "DBT_ARTIFACTS_DIR", tmp_path / "artifacts")
    ti = SimpleNamespace(dag_id="orchard_nightly", run_id="r1", task_id="extract_load.shop", try_number=1)
    alert = task_alert({"ti": ti, "exception": RuntimeError("load failed")})
    assert alert.dbt_failures == [] and "What broke" not in alert.text()


def test_with_the_warehouse_unreachable_the_alert_still_goes_out_without_the_details(
    failed_build, alert_channels, tmp_path, monkeypatch
):
    from orchard.warehouse.lifecycle import free_port

    project, _, _ = failed_build
    monkeypatch.setattr(settings, "ALERT_LOG", tmp_path / "alerts.jsonl")
    monkeypatch.setattr(settings, "DBT_ARTIFACTS_DIR", tmp_path / "artifacts")
    monkeypatch.setattr(settings, "DBT_MANIFEST_PATH", project / "target" / "manifest.json")
    monkeypatch.setenv("ORCHARD_CLICKHOUSE_PORT", str(free_port()))
    ti = SimpleNamespace(dag_id="orchard_nightly", run_id="r2", task_id="transform.x.test", try_number=1)
    capture_run_results(str(project), context={"ti": ti})
    outcome = dispatch(task_alert({"ti": ti, "exception": RuntimeError("dbt test failed")}))
    assert outcome["webhook"] == "sent"
    [hook] = alert_channels["http"].bodies("/hook")
    assert hook["task_id"] == "transform.x.test" and "dbt test failed" in hook["text"]
