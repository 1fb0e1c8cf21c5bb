"""The dashboards as code against a real Superset over a warehouse a real dbt build filled (conftest):
they fit the dbt project, import idempotently, and the nightly's refresh runs every chart, and fails
naming the dashboard and the chart when a model loses a column or a chart comes back empty."""

from __future__ import annotations

import json
import logging

import pytest
import requests

from orchard.bi.assets import Bundle, check_against_manifest, import_bundle, model_relations, orchard_datasets
from orchard.bi.config import BiConfigError, SupersetConnection
from orchard.bi.refresh import BiRefreshError, refresh
from orchard.bi.superset_api import SupersetAPI, SupersetError

pytestmark = pytest.mark.integration


def superset_state(api: SupersetAPI) -> dict:
    """What a user sees of the Orchard assets: dashboards with their layout and charts, charts with their
    query, datasets with their columns; no ids or timestamps."""
    datasets = orchard_datasets(api)
    ours = {d["id"] for d in datasets}
    charts = [
        api.call("GET", f"/chart/{c['id']}")["result"]
        for c in api.list("chart", ["id", "datasource_id"])
        if c["datasource_id"] in ours
    ]
    dashboards = [api.call("GET", f"/dashboard/{d['id']}")["result"] for d in api.list("dashboard", ["id"])]
    slugs = {d["id"]: d["slug"] for d in dashboards}
    return {
        "dashboards": {d["slug"]: (d["dashboard_title"], layout(d["position_json"])) for d in dashboards},
        "charts": {
            c["slice_name"]: (
                c["viz_type"],
                json.loads(c["params"]),
                json.loads(c["query_context"])["queries"],
                sorted(slugs[d["id"]] for d in c["dashboards"]),
            )
            for c in charts
        },
        "datasets": {
            d["uuid"]: (d["schema"], d["table_name"], sorted(api.dataset_columns(d["id"]).items()))
            for d in datasets
        },
    }


def layout(position_json: str) -> dict:
    """A dashboard's layout without the charts' database ids (a chart deleted and imported again gets a new one)."""
    position = json.loads(position_json)
    for item in position.values():
        if isinstance(item, dict):
            item.get("meta", {}).pop("chartId", None)
    return position


def test_every_exposure_has_its_dashboard_and_every_dataset_is_a_model(bi_stack):
    bundle = Bundle.load()
    assert check_against_manifest(bundle, bi_stack.manifest) == []
    exposures = {e["name"] for e in bi_stack.manifest["exposures"].values()}
    assert set(bundle.dashboards) == exposures
    models = model_relations(bi_stack.manifest)
    for slug in bundle.dashboards:
        charts = bundle.dashboard_charts(slug)
        assert charts, f"dashboard {slug} has no charts"
        for chart in charts:
            assert bundle.datasets[chart["dataset_uuid"]]["table_name"] in models
    # the exposures carry their dashboard's URL, so dbt docs link to it
    for exposure in bi_stack.manifest["exposures"].values():
        assert exposure["url"].endswith(f"/superset/dashboard/{exposure['name']}/"), exposure["name"]


def test_a_bundle_that_does_not_fit_the_project_is_refused_naming_the_fix(bi_stack):
    bundle = Bundle.load()
    broken = Bundle(dict(bundle.files))
    path = next(p for p in broken.files if p.endswith("rpt_grocery_kpis.yaml"))
    broken.files[path] = {**broken.files[path], "table_name": "rpt_grocery_kpis_v2"}
    del broken.files["dashboards/pipeline_health.yaml"]
    problems = check_against_manifest(broken, bi_stack.manifest)
    assert any("rpt_grocery_kpis_v2" in p and "not a model of the dbt project" in p for p in problems)
    assert any(
        "'pipeline_health' has no dashboard" in p and "dashboards/pipeline_health.yaml" in p for p in problems
    )
    api = bi_stack.api()
    before = superset_state(api)
    with pytest.raises(Exception, match="do not fit the dbt project"):
        import_bundle(api, bi_stack.manifest, bi_stack.warehouse, "bi", bi_stack.bi_password, bundle=broken)
    assert superset_state(api) == before  # nothing already imported is lost


def test_import_is_idempotent_and_a_removed_chart_disappears(bi_stack):
    api = bi_stack.api()
    first = superset_state(api)
    bundle = Bundle.load()
    assert len(first["charts"]) == len(bundle.charts) and len(first["dashboards"]) == len(bundle.dashboards)
    import_bundle(api, bi_stack.manifest, bi_stack.warehouse, "bi", bi_stack.bi_password)
    assert superset_state(api) == first

    # the code loses a chart: the next import deletes it from Superset and from its dashboard
    removed_uuid = bundle.dashboard_charts("executive_summary")[-1]["uuid"]
    smaller = Bundle({p: d for p, d in bundle.files.items() if d.get("uuid") != removed_uuid})
    dashboard_path = "dashboards/executive_summary.yaml"
    position = {
        key: item
        for key, item in smaller.files[dashboard_path]["position"].items()
        if not (isinstance(item, dict) and item.get("meta", {}).get("uuid") == removed_uuid)
    }
    for item in position.values():
        if isinstance(item, dict) and "children" in item:
            item["children"] = [child for child in item["children"] if child in position]
    smaller.files[dashboard_path] = {**smaller.files[dashboard_path], "position": position}
    try:
        result = import_bundle(
            api, bi_stack.manifest, bi_stack.warehouse, "bi", bi_stack.bi_password, bundle=smaller
        )
        assert result.pruned == [bundle.charts[removed_uuid]["slice_name"]]
        after = superset_state(api)
        removed = bundle.charts[removed_uuid]["slice_name"]
        assert set(after["charts"]) == set(first["charts"]) - {removed}
    finally:
        import_bundle(api, bi_stack.manifest, bi_stack.warehouse, "bi", bi_stack.bi_password)
    assert superset_state(api) == first


def test_superset_reads_the_warehouse_as_the_read_only_user(bi_stack):
    api = bi_stack.api()
    databases = api.list("database", ["id", "database_name"])
    (orchard,) = [d for d in databases if d["database_name"] == "Orchard warehouse"]
    uri = api.call("GET", f"/database/{orchard['id']}/connection")["result"]["sqlalchemy_uri"]
    assert uri.startswith("clickhousedb://bi:") and "default:" not in uri
    # SQL Lab through that connection cannot write
    response = api.session.post(
        f"{api.url}/api/v1/sqllab/execute/",
        json={
            "database_id": orchard["id"],
            "sql": "CREATE TABLE ci_marts.intruder (x UInt8) ENGINE = Memory",
        },
        timeout=60,
    )
    assert response.status_code != 200 or response.json().get("status") == "failed"
    assert not int(bi_stack.client().command("EXISTS TABLE ci_marts.intruder"))


def test_refresh_runs_every_chart_and_records_each(bi_stack):
    client = bi_stack.client()
    result = refresh(bi_stack.manifest, "run-ok", client, bi_stack.superset)
    bundle = Bundle.load()
    assert set(result) == set(bundle.dashboards)
    assert sum(len(charts) for charts in result.values()) == len(bundle.charts)
    assert result["executive_summary"]["KPIs against targets"] == 7
    rows = client.query(
        "select exposure, chart, status, row_count from ops.bi_refresh where run_id = 'run-ok'"
    ).result_rows
    assert len(rows) == len(bundle.charts)
    statuses = {status for _, _, status, _ in rows}
    assert statuses <= {"ok", "mart_empty"}, rows
    # a chart over a mart with rows came back with rows
    assert all(n > 0 for _, _, status, n in rows if status == "ok")


def test_a_renamed_column_shows_and_a_dropped_one_fails_naming_the_chart(bi_stack):
    client = bi_stack.client()
    api = bi_stack.api()
    (kpis,) = [d for d in orchard_datasets(api) if d["table_name"] == "rpt_grocery_kpis"]
    try:
        client.command("ALTER TABLE ci_marts.rpt_grocery_kpis RENAME COLUMN description TO kpi_description")
        client.command("ALTER TABLE ci_marts.rpt_grocery_kpis DROP COLUMN status")
        with pytest.raises(BiRefreshError) as failure:
            refresh(bi_stack.manifest, "run-dropped", client, bi_stack.superset, ["executive_summary"])
        message = str(failure.value)
        assert "dashboard 'executive_summary', chart 'KPIs on target'" in message
        assert "chart 'KPIs against targets'" in message
        assert "Columns missing in dataset: ['status']" in message
        assert "'status'] are gone from ci_marts.rpt_grocery_kpis" in message
        columns = api.dataset_columns(kpis["id"])
        assert "kpi_description" in columns and "description" not in columns and "status" not in columns
        failed = client.query(
            "select chart from ops.bi_refresh where run_id = 'run-dropped' and status = 'error'"
        ).result_rows
        assert ("KPIs on target",) in failed
    finally:
        bi_stack.dbt("run", "--select", "rpt_grocery_kpis")
    refresh(bi_stack.manifest, "run-restored", client, bi_stack.superset, ["executive_summary"])
    assert "status" in api.dataset_columns(kpis["id"])


def test_a_chart_that_comes_back_empty_while_its_mart_has_rows_fails(bi_stack):
    client = bi_stack.client()
    try:
        client.command(
            "ALTER TABLE ci_marts.rpt_grocery_product_performance UPDATE rank_in_department = 1000 WHERE 1 "
            "SETTINGS mutations_sync = 1"
        )
        with pytest.raises(BiRefreshError) as failure:
            refresh(
                bi_stack.manifest,
                "run-empty",
                client,
                bi_stack.superset,
                ["product_performance_and_market_basket"],
            )
        assert (
            "dashboard 'product_performance_and_market_basket', chart 'Top 3 products per department': "
            "no rows although ci_marts.rpt_grocery_product_performance has" in str(failure.value)
        )
    finally:
        bi_stack.dbt("run", "--select", "rpt_grocery_product_performance")


def test_without_superset_the_refresh_says_so_and_checks_the_marts(bi_stack, monkeypatch, caplog):
    monkeypatch.delenv("AIRFLOW_CONN_SUPERSET_DEFAULT", raising=False)
    monkeypatch.delenv("ORCHARD_SUPERSET_URL", raising=False)
    # the ops marts are empty on a first build (no earlier run's artifacts): the check names them
    empty = "dashboard 'pipeline_health': ci_ops.rpt_ops_test_pass_rates is empty"
    with (
        caplog.at_level(logging.INFO, logger="orchard.bi.refresh"),
        pytest.raises(BiRefreshError, match=empty),
    ):
        refresh(bi_stack.manifest, "run-no-bi", bi_stack.client())
    assert "BI refresh skipped: no Superset configured" in caplog.text
    manifest = {
        **bi_stack.manifest,
        "exposures": {
            k: e for k, e in bi_stack.manifest["exposures"].items() if e["name"] != "pipeline_health"
        },
    }
    result = refresh(manifest, "run-no-bi", bi_stack.client())
    assert result["executive_summary"]["ci_marts.rpt_grocery_kpis"] == 7


def test_wrong_superset_settings_are_refused_naming_the_fix(bi_stack, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_SUPERSET_DEFAULT", raising=False)
    monkeypatch.setenv("ORCHARD_SUPERSET_URL", bi_stack.superset.url)
    monkeypatch.delenv("ORCHARD_SUPERSET_PASSWORD", raising=False)
    with pytest.raises(BiConfigError, match="ORCHARD_SUPERSET_PASSWORD is not"):
        SupersetConnection.from_env()
    monkeypatch.setenv("AIRFLOW_CONN_SUPERSET_DEFAULT", "http://localhost:8088")
    with pytest.raises(BiConfigError, match="needs a host, a user and a password"):
        SupersetConnection.from_env()
    wrong = SupersetConnection(bi_stack.superset.url, "admin", "not-the-password")
    with pytest.raises(SupersetError, match="refused the login of 'admin'"):
        refresh(bi_stack.manifest, "run-wrong-login", bi_stack.client(), wrong)
    # nothing is recorded for a refresh that could not start; earlier results stay
    client = bi_stack.client()
    assert client.command("select count() from ops.bi_refresh where run_id = 'run-wrong-login'") == 0
    assert client.command("select count() from ops.bi_refresh where run_id = 'run-ok'") > 0


def test_someone_without_a_login_gets_no_dashboard_and_no_data(bi_stack):
    anonymous = requests.get(
        f"{bi_stack.superset.url}/superset/dashboard/executive_summary/", allow_redirects=False, timeout=30
    )
    assert anonymous.status_code in {302, 401, 403}
    api_call = requests.get(f"{bi_stack.superset.url}/api/v1/chart/", timeout=30)
    assert api_call.status_code == 401
