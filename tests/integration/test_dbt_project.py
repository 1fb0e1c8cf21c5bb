"""The dbt project against the embedded warehouse, on raw data loaded the way the platform loads it: generated
samples (Instacart files, a simulated shop database) through Orchard's dlt pipelines, then real `dbt` runs.

The first build is the session's one real-project build (`real_build`, tests/conftest.py), which the BI tier
reads too: the tests that only read it run on it. The tests that change raw data or models run on a copy of
it (a warehouse of their own), in file order: the shop advances a day at a time for snapshots and increments.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest
from dbt_runner import (
    REAL_BUILD_DAY,
    Dbt,
    RealBuildCopy,
    dbt_command,
    not_green,
    statuses,
    write_instacart_drop,
)

from orchard.warehouse.client import get_client

pytestmark = pytest.mark.integration

RAW_INSTACART = "raw_instacart"  # the real build's raw databases, in its warehouse and in copies of it
RAW_SHOP = "raw_shop"


class ShopDbt(Dbt):
    """The dbt runner on a copy of the real build, plus the shop database it can advance a day at a time."""

    def __init__(self, copy: RealBuildCopy):
        super().__init__(copy.root, RAW_INSTACART, RAW_SHOP, env=copy.warehouse.env())
        self.settings = copy.warehouse
        self.pipelines = copy.pipelines
        self.shop_url = copy.shop_url
        self.day = REAL_BUILD_DAY

    def advance_shop(self, days: int = 1) -> None:
        """Simulate the shop up to `days` more days and load each new day, as the nightly DAG does."""
        from orchard.sources.shop.pipeline import run_shop
        from orchard_dev.shop_sample.simulator import simulate

        for _ in range(days):
            self.day += timedelta(days=1)
            simulate(self.shop_url, self.day)
            run_shop(
                self.shop_url,
                day=self.day,
                database=RAW_SHOP,
                settings=self.settings,
                pipelines_dir=self.pipelines,
            )


@pytest.fixture(scope="module")
def dbt(real_build) -> ShopDbt:
    """A copy of the real build that these tests may change."""
    copy = real_build.copy("dbt-project")
    yield ShopDbt(copy)
    copy.process.stop()


@pytest.fixture
def ch(dbt):
    """A client to this module's copy of the real build (not the session warehouse)."""
    client = get_client(dbt.settings)
    yield client
    client.close()


@pytest.fixture
def build_ch(real_build):
    """A client to the session's real build, for the tests that only read it."""
    client = get_client(real_build.warehouse)
    yield client
    client.close()


def test_build_passes_with_zero_errors_and_runs_unit_tests(real_build):
    results = real_build.results
    bad = not_green(results)
    assert results["returncode"] == 0 and not bad, f"not green: {bad}\n{results['output']}"
    kinds = {uid.split(".")[0] for uid in statuses(results)}
    assert {"model", "test", "snapshot", "seed", "unit_test"} <= kinds
    unit_tests = [uid for uid in statuses(results) if uid.startswith("unit_test.")]
    assert len(unit_tests) >= 5


def test_marts_hold_answers(build_ch):
    ch = build_ch
    # real recency: the final order's gap, i.e. days from the last prior order to the end of the history
    mismatched = ch.query(
        f"""
        select count()
        from ci_marts.rpt_grocery_customer_churn as churn
        inner join (
            select user_id, argMax(days_since_prior_order, order_number) as last_gap
            from {RAW_INSTACART}.orders
            group by user_id
        ) as raw using (user_id)
        where churn.recency_days != raw.last_gap
        """
    ).result_rows[0][0]
    assert mismatched == 0
    # lift and confidence of the strongest pair, recomputed from the raw lines
    pair = ch.query(
        "select product_a_id, product_b_id, pair_orders, confidence_a_to_b, lift "
        "from ci_marts.rpt_grocery_market_basket order by pair_orders desc, lift desc limit 1"
    ).result_rows
    assert pair, "the market basket is empty on the sample"
    a, b, together, confidence, lift = pair[0]
    lines = (
        f"(select order_id, product_id from {RAW_INSTACART}.order_products_prior union all "
        f"select order_id, product_id from {RAW_INSTACART}.order_products_train)"
    )
    total, with_a, with_b = ch.query(
        f"select uniqExact(order_id), uniqExactIf(order_id, product_id = {a}), "
        f"uniqExactIf(order_id, product_id = {b}) from {lines}"
    ).result_rows[0]
    assert (
        together
        == ch.query(
            f"select count() from (select order_id from {lines} where product_id in ({a}, {b}) "
            "group by order_id having count() = 2)"
        ).result_rows[0][0]
    )
    assert confidence == pytest.approx(together / with_a)
    assert lift == pytest.approx(together * total / (with_a * with_b))
    statuses_by_check = dict(
        ch.query("select check_name, status from ci_marts.rpt_grocery_data_quality").result_rows
    )
    assert statuses_by_check["orders_duplicate_id"] == "PASS"
    assert statuses_by_check["orders_stale_load"] == "PASS"
    largest = ch.query("select countIf(is_largest_drop_off) from ci_marts.rpt_shop_signup_funnel").result_rows
    assert largest[0][0] == 1


def test_next_day_adds_snapshot_versions_and_closes_old_ones(dbt, ch):
    before = ch.query("select count(), countIf(dbt_valid_to is not null) from ci_snapshots.snp_shop__orders")
    total_before, closed_before = before.result_rows[0]
    dbt.advance_shop()
    results = dbt("build", "--select", "snp_shop__orders+", "snp_shop__products+")
    assert not not_green(results), results["output"]
    total_after, closed_after = ch.query(
        "select count(), countIf(dbt_valid_to is not null) from ci_snapshots.snp_shop__orders"
    ).result_rows[0]
    assert total_after > total_before
    assert closed_after > closed_before
    # an order that changed has its old version closed exactly when the new one starts
    changed = ch.query(
        """
        select old.order_id, old.status, new.status, old.dbt_valid_to = new.dbt_valid_from
        from ci_snapshots.snp_shop__orders as old
        inner join ci_snapshots.snp_shop__orders as new
            on old.order_id = new.order_id and old.dbt_valid_to = new.dbt_valid_from
        where old.dbt_valid_to is not null
        """
    ).result_rows
    assert changed
    assert all(same for *_, same in changed)
    assert any(old != new for _, old, new, _ in changed)
    products_closed = ch.query(
        "select countIf(dbt_valid_to is not null) from ci_snapshots.snp_shop__products"
    ).result_rows[0][0]
    assert products_closed > 0


INCREMENTAL = {
    "fct_shop_events": "event_id",
    "fct_shop_orders": "order_id",
}


def table_rows(ch, model: str, key: str) -> list[tuple]:
    return ch.query(f"select * from ci_marts.{model} order by {key}").result_rows


def test_incremental_days_equal_a_full_refresh(dbt, ch):
    select = ["--select", *(f"+{m}" for m in INCREMENTAL)]
    dbt("build", *select, "--full-refresh")  # the state before the two days
    for _ in range(2):
        dbt.advance_shop()
        window = {
            "data_interval_start": dbt.day.isoformat(),
            "data_interval_end": (dbt.day + timedelta(days=1)).isoformat(),
        }
        dbt("build", *select, vars=window)
    incremental = {m: table_rows(ch, m, key) for m, key in INCREMENTAL.items()}
    # the windows really were slices: the last run only rebuilt the last day's events
    assert {row[0] for row in incremental["fct_shop_events"]}
    dbt("build", *select, "--full-refresh")
    for model, key in INCREMENTAL.items():
        full = table_rows(ch, model, key)
        assert len(full) == len(incremental[model]), model
        assert full == incremental[model], f"{model}: incremental runs differ from a full refresh"


def test_a_run_with_nothing_new_loaded_changes_nothing(dbt, ch):
    # whatever interval it runs for, a build with no new loads leaves the table as it is (nothing deleted or added)
    before = ch.query("select count(), max(created_at) from ci_marts.fct_shop_events").result_rows[0]
    empty_day = {"data_interval_start": "2020-01-01", "data_interval_end": "2020-01-02"}
    dbt("run", "--select", "fct_shop_events", vars=empty_day)
    assert ch.query("select count(), max(created_at) from ci_marts.fct_shop_events").result_rows[0] == before


def shift_loads(ch, table: str, column: str, hours: int) -> None:
    ch.command(
        f"alter table {RAW_SHOP}.{table} update {column} = {column} + interval {hours} hour where 1 "
        "settings mutations_sync = 2"
    )


def test_freshness_means_the_load_ran_not_that_a_table_changed(dbt, ch):
    fresh = dbt("source", "freshness")
    assert set(statuses(fresh).values()) == {"pass"}, fresh["output"]
    # promos nobody touched for three days: the shop load still ran, so the table is fresh
    shift_loads(ch, "promos", "_loaded_at", -72)
    try:
        quiet = dbt("source", "freshness", check=False)
        assert statuses(quiet)["source.orchard.shop.promos"] == "pass", quiet["output"]
        assert quiet["returncode"] == 0
        # the loads themselves stopped three days ago: every shop table is stale
        shift_loads(ch, "_dlt_loads", "inserted_at", -72)
        stale = dbt("source", "freshness", check=False)
        shift_loads(ch, "_dlt_loads", "inserted_at", 72)
    finally:
        shift_loads(ch, "promos", "_loaded_at", 72)
    assert stale["returncode"] != 0
    assert statuses(stale)["source.orchard.shop.orders"] == "error"
    assert statuses(stale)["source.orchard.shop.promos"] == "error"
    # the on-run-end hook recorded the checks in the ops database, and the ops mart says which met the SLA
    recorded = ch.query(
        "select status, count() from ci_ops.dbt_node_results "
        "where command = 'freshness' and unique_id = 'source.orchard.shop.orders' group by status"
    ).result_rows
    assert dict(recorded) == {"pass": 2, "error": 1}
    dbt("run", "--select", "rpt_ops_source_freshness")
    sla = ch.query(
        "select status, met_sla, breached_sla from ci_ops.rpt_ops_source_freshness "
        "where source_table = 'shop.orders' group by all"
    ).result_rows
    assert sorted(sla) == [("error", False, True), ("pass", True, False)]


def test_ops_marts_flag_sla_breaches(dbt, ch):
    dbt("run", "--select", "rpt_ops_model_durations", "rpt_ops_test_pass_rates")
    met = ch.query("select countIf(not met_sla), count() from ci_ops.rpt_ops_model_durations").result_rows[0]
    assert met[1] > 0 and met[0] < met[1]
    # with a target no build can meet, every model breaches it
    dbt("run", "--select", "rpt_ops_model_durations", vars={"sla_build_seconds": 0})
    breached = ch.query(
        "select countIf(breached_duration_sla), count() from ci_ops.rpt_ops_model_durations"
    ).result_rows[0]
    assert breached[0] == breached[1] > 0
    targets = ch.query("select distinct sla_pass_rate from ci_ops.rpt_ops_test_pass_rates").result_rows
    assert targets == [(1.0,)]


def test_bad_rows_are_reported_by_the_dq_mart_in_the_same_build(dbt, ch):
    ch.command(
        f"insert into {RAW_SHOP}.events (event_id, session_id, user_id, page_url, event_type, order_id, "
        "product_id, created_at, updated_at, _loaded_at, _dlt_load_id) "
        "values ('broken-event', 'broken-session', null, '/', 'teleport', null, null, now64(6), now64(6), "
        "now64(6), 'broken')"
    )
    ch.command(f"insert into {RAW_INSTACART}.orders select * from {RAW_INSTACART}.orders limit 1")
    try:
        results = dbt("build", "--select", "stg_shop__events", "stg_instacart__orders", check=False)
        assert results["returncode"] != 0
        by_status: dict[str, list[str]] = {}
        for uid, status in statuses(results).items():
            by_status.setdefault(status, []).append(uid.split(".")[2][:40])
        # an unknown event type stops the build; a repeated order (which also repeats its number) is reported
        assert sorted(by_status.get("fail", []) + by_status.get("error", [])) == [
            "accepted_values_stg_shop__events_event_t"
        ], by_status
        assert sorted(by_status["warn"]) == [
            "assert_order_numbers_are_consecutive",
            "unique_stg_instacart__orders_order_id",
        ], by_status
        # one build, as the nightly runs it: the warnings do not skip the mart, which shows the duplicate
        build = dbt("build", "--select", "+rpt_grocery_data_quality")
        assert not [uid for uid, s in statuses(build).items() if s == "skipped"], build["output"]
        status = ch.query(
            "select status, failed_rows from ci_marts.rpt_grocery_data_quality "
            "where check_name = 'orders_duplicate_id'"
        ).result_rows
        assert status == [("FAIL", 1)]
    finally:
        ch.command(f"delete from {RAW_SHOP}.events where event_id = 'broken-event'")
        ch.command(f"optimize table {RAW_INSTACART}.orders final deduplicate")


def test_a_daily_instacart_drop_reaches_the_order_line_fact(dbt, ch):
    from orchard.sources.instacart.pipeline import run_instacart

    # the nightly for a day with a drop (only the day's new rows: two more customers), built with that day's window
    day = date(2026, 2, 1)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    write_instacart_drop(dbt.root / "instacart", day, new_users=2)
    run_instacart(
        dbt.root / "instacart",
        (start, start + timedelta(days=1)),
        database=RAW_INSTACART,
        settings=dbt.settings,
        pipelines_dir=dbt.pipelines,
    )
    window = {
        "data_interval_start": start.isoformat(),
        "data_interval_end": (start + timedelta(days=1)).isoformat(),
    }
    results = dbt(
        "build",
        "--select",
        "+fct_grocery_order_lines",
        "fct_grocery_orders",
        "+dim_grocery_customers",
        vars=window,
        check=False,
    )
    assert not not_green(results), results["output"]
    raw_lines = ch.query(
        f"select uniqExact(order_id, product_id) from (select order_id, product_id from "
        f"{RAW_INSTACART}.order_products_prior union all select order_id, product_id from "
        f"{RAW_INSTACART}.order_products_train)"
    ).result_rows[0][0]
    assert ch.query("select count() from ci_marts.fct_grocery_order_lines").result_rows[0][0] == raw_lines
    newest = ch.query(
        "select basket_size from ci_marts.fct_grocery_orders order by order_id desc limit 4"
    ).result_rows
    assert newest == [(2,)] * 4


UPGRADED_TO_INCREMENTAL = ("ci_marts.fct_grocery_orders", "ci_intermediate.int_grocery__users")


def test_marts_built_before_they_were_incremental_are_rebuilt_once_then_go_on(dbt, ch):
    # A deployment upgraded to incremental fct_grocery_orders and int_grocery__users holds both as tables built
    # without loaded_at, the column their incremental runs start after: the next nightly must rebuild them
    # whole and add it, not fail on an unknown column.
    models = ["--select", "int_grocery__users", "fct_grocery_orders"]
    dbt("run", *models)

    def contents(table):
        return ch.query(
            f"select count(), groupBitXor(cityHash64(* except loaded_at)) from {table}"
        ).result_rows

    before = {table: contents(table) for table in UPGRADED_TO_INCREMENTAL}
    for table in UPGRADED_TO_INCREMENTAL:
        ch.command(f"alter table {table} drop column loaded_at")
    dbt("run", *models)
    for table in UPGRADED_TO_INCREMENTAL:
        assert contents(table) == before[table], table
        unset = ch.query(f"select countIf(loaded_at < '2000-01-01') from {table}").result_rows[0][0]
        assert unset == 0, f"{table}: {unset} rows without their load time"
    # the night after, with nothing new loaded, the runs start after loaded_at again and change nothing
    dbt("run", *models)
    assert {table: contents(table) for table in UPGRADED_TO_INCREMENTAL} == before


def test_docs_generate(real_build):
    real_build.dbt("docs", "generate")
    catalog = json.loads((real_build.root / "target" / "catalog.json").read_text())
    assert "model.orchard.rpt_grocery_market_basket" in catalog["nodes"]
    columns = catalog["nodes"]["model.orchard.rpt_grocery_market_basket"]["columns"]
    assert "lift" in columns


@pytest.mark.parametrize(
    ("target", "marts", "ops", "snapshots"),
    [("prod", "marts", "ops", "snapshots"), ("ci", "ci_marts", "ci_ops", "ci_snapshots")],
)
def test_schemas_map_to_databases_per_target(tmp_path, target, marts, ops, snapshots):
    # prod builds into the fixed databases BI reads; other targets prefix them with the target's schema
    subprocess.run(
        dbt_command(
            "parse", target=target, target_path=tmp_path / f"parse-{target}", log_path=tmp_path / "logs"
        ),
        check=True,
        capture_output=True,
        env={**os.environ, "ORCHARD_DBT_SCHEMA": target},
    )
    nodes = json.loads((tmp_path / f"parse-{target}" / "manifest.json").read_text())["nodes"]
    assert nodes["model.orchard.fct_grocery_orders"]["schema"] == marts
    assert nodes["model.orchard.rpt_ops_model_durations"]["schema"] == ops
    assert nodes["snapshot.orchard.snp_shop__orders"]["schema"] == snapshots
    assert nodes["model.orchard.stg_shop__orders"]["schema"] == marts.replace("marts", "staging")
