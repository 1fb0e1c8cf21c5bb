"""Production's shape on the e2e deployment (CeleryExecutor, two workers, PostgreSQL metadata, the shop on
PostgreSQL): the nightly's tasks spread over both workers while the pools hold, and every task follows the
`clickhouse_default` connection when it is moved to another warehouse through the REST API."""

from __future__ import annotations

import pytest
from run_checks import most_at_once, slot_spans

from orchard.settings import ClickHouseSettings
from orchard.warehouse.client import get_client

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

POOL_SLOTS = {"clickhouse": 4, "dbt_build": 1}  # airflow_settings.yaml
SHOP_TABLES = ("users", "addresses", "promos", "products", "orders", "order_items", "events")


def _manual_run_beside_a_backfill(airflow_up) -> None:
    """A manual run and a one-date backfill, side by side (a backfill does not count against
    max_active_runs), both successful."""
    airflow_up.wait_for_backfills_to_complete("orchard_nightly")
    before = {r["dag_run_id"] for r in airflow_up.runs("orchard_nightly")}
    airflow_up.api("PATCH", "/dags/orchard_nightly", {"is_paused": False})
    airflow_up.api(
        "POST",
        "/dags/orchard_nightly/dagRuns",
        {"logical_date": "2026-11-24T02:00:00Z", "conf": {"sources": ["shop"]}},
    )
    airflow_up.api(
        "POST",
        "/backfills",
        {
            "dag_id": "orchard_nightly",
            "from_date": "2026-11-22T02:00:00Z",
            "to_date": "2026-11-22T02:00:00Z",
            "dag_run_conf": {"sources": ["shop"]},
        },
    )
    ours = {r["dag_run_id"] for r in airflow_up.runs("orchard_nightly")} - before
    finished = airflow_up.wait_for_runs("orchard_nightly", ours)
    assert {r["state"] for r in finished.values()} == {"success"}, finished


def test_nightly_runs_on_both_workers_and_the_pools_hold(airflow_up):
    """Every finished nightly run of the session (the backfill beside a manual run in
    test_backfill_fortnight among them): their tasks ran on both Celery workers, and the pools the scheduler
    enforces across workers held, read from the task instances. Run alone, it makes that concurrency."""
    airflow_up.fail_if_stuck()
    if sum(r["state"] in ("success", "failed") for r in airflow_up.runs("orchard_nightly")) < 2:
        _manual_run_beside_a_backfill(airflow_up)

    # every run of the session shares the pools: check the finished ones together
    tis = [
        ti
        for run in airflow_up.runs("orchard_nightly")
        if run["state"] in ("success", "failed")
        for ti in airflow_up.task_instances("orchard_nightly", run["dag_run_id"]).values()
    ]
    ran = [ti for ti in tis if ti["start_date"] and ti["end_date"] and ti["state"] == "success"]
    hosts = {ti["hostname"] for ti in ran if ti["hostname"]}  # not the EmptyOperators the scheduler ends
    assert {h.split("@")[0] for h in hosts} == {"worker-1", "worker-2"}, hosts

    builds = slot_spans(ran, "dbt_build")
    assert len(builds) >= 2 and most_at_once(builds) == 1, sorted(builds)
    warehouse = slot_spans(ran, "clickhouse")
    assert len(warehouse) >= 4 and most_at_once(warehouse) <= POOL_SLOTS["clickhouse"], sorted(warehouse)


def _counts(settings: ClickHouseSettings, run_id: str) -> dict[str, int]:
    """What a run leaves in a warehouse: dlt loads, dbt's node results (the artifacts), the BI refresh of
    that run, the mart dbt builds."""
    client = get_client(settings)
    try:

        def count(sql: str, table: str) -> int:
            return int(client.command(sql)) if int(client.command(f"EXISTS TABLE {table}")) else 0

        return {
            "loads": count("SELECT count() FROM raw_shop._dlt_loads", "raw_shop._dlt_loads"),
            "dbt_results": count("SELECT count() FROM ops.dbt_node_results", "ops.dbt_node_results"),
            "bi_refresh": count(
                f"SELECT count() FROM ops.bi_refresh WHERE run_id = '{run_id}'", "ops.bi_refresh"
            ),
            "mart_rows": count("SELECT count() FROM marts.fct_tiny", "marts.fct_tiny"),
        }
    finally:
        client.close()


def _postgres_counts(url: str) -> dict[str, int]:
    """Rows per shop table in the app database on PostgreSQL."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in SHOP_TABLES}
    finally:
        engine.dispose()


def _raw_shop_counts(settings: ClickHouseSettings) -> dict[str, int]:
    """Rows per table in raw_shop, each key once (merged tables read FINAL)."""
    client = get_client(settings)
    try:
        return {
            t: int(client.command(f"SELECT count() FROM raw_shop.`{t}` SETTINGS final = 1"))
            for t in SHOP_TABLES
        }
    finally:
        client.close()


def test_every_task_follows_the_connection_to_a_second_warehouse(airflow_up, start_warehouse):
    """Move `clickhouse_default` through the REST API: the loads, dbt (models and the node results its hooks
    write), the BI refresh and the docs all reach the second warehouse; the first gets nothing new.

    The run is a manual one without a logical date (Airflow 3 allows it: no data interval), which loads
    everything instead of failing on the missing interval: one run checks both, to spare the tier a run.
    Into the empty second warehouse it loads the whole shop, which the `shop_db` connection puts on
    PostgreSQL: raw_shop then holds exactly the PostgreSQL tables' rows."""
    airflow_up.fail_if_stuck()
    first = ClickHouseSettings.from_env(airflow_up.env)
    second = start_warehouse()
    original = airflow_up.api("GET", "/connections/clickhouse_default")
    moved = {**original, "port": second.port}
    airflow_up.api("PATCH", "/connections/clickhouse_default", moved)
    try:
        before = _counts(first, "none")
        airflow_up.api("PATCH", "/dags/orchard_nightly", {"is_paused": False})
        run = airflow_up.api(
            "POST", "/dags/orchard_nightly/dagRuns", {"logical_date": None, "conf": {"sources": ["shop"]}}
        )
        run_id = run["dag_run_id"]
        state = airflow_up.wait_for_runs("orchard_nightly", {run_id})[run_id]["state"]
        assert state == "success", airflow_up.where_runs_stand("orchard_nightly", {run_id})
    finally:
        airflow_up.api("PATCH", "/connections/clickhouse_default", original)

    there = _counts(ClickHouseSettings(host="127.0.0.1", port=second.port), run_id)
    assert there["loads"] >= 1 and there["dbt_results"] > 0 and there["mart_rows"] == 10, there
    assert there["bi_refresh"] > 0, there  # publish.bi_refresh recorded this run's counts there
    assert _counts(first, run_id) == {**before, "bi_refresh": 0}, "the first warehouse got rows from the run"
    shop = airflow_up.xcom("orchard_nightly", run_id, "extract_load.load_shop")
    assert shop["interval"] is None and sum(shop["rows"].values()) > 0, shop
    assert airflow_up.api("GET", "/connections/clickhouse_default")["port"] == original["port"]
    # the rows came from the shop on PostgreSQL, through the read-only user of the shop_db connection
    in_postgres = _postgres_counts(airflow_up.shop_url)
    assert all(in_postgres.values()), in_postgres
    assert _raw_shop_counts(ClickHouseSettings(host="127.0.0.1", port=second.port)) == in_postgres
