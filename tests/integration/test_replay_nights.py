"""A week of nights replayed the way production runs them, to prove the marts stay right on the 30th night.

Each day the shop app advances a day; an intraday run loads the new events only and builds the intraday models;
the nightly loads the day's shop rows and the day's Instacart drop (new rows only, merged into the raw tables;
every other day there is none, and the load finds nothing new), then builds the project; the fourth night is the Sunday full refresh. A late event (created two days
before it reaches the app database) arrives on the third day. After every night:

- every incremental model (found in the manifest, so a new one is checked too) equals its full-refresh rebuild
  on the same data: count() and groupBitXor(cityHash64(*)) over the whole table;
- the marts reconcile with sums computed here straight from the raw tables: order lines, shop orders and revenue
  per day, product funnel steps, and snapshot versions against the changes seen in the raw orders.

dlt and dbt run for real against the embedded warehouse; Airflow is left out (its DAG tier builds the project
too). The night before the first is the session's real-project build (`real_build`, tests/conftest.py: a full
build of every node on the samples), replayed on from a copy of it in a warehouse of its own. To keep a week to
a few minutes, the builds select what the checks read and its upstream, leave tests to
test_dbt_project.py, and pass no data-interval vars (no model reads them, and a change of vars makes dbt parse
the project again).
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from dbt_runner import REAL_BUILD_DAY, RealBuildCopy, write_instacart_drop

from orchard.warehouse.client import get_client

pytestmark = pytest.mark.integration

RAW_INSTACART = "raw_instacart"  # the real build's raw databases and dbt schema, in a copy of its warehouse
RAW_SHOP = "raw_shop"
SCHEMA = "ci"  # dbt builds into ci_marts, ci_snapshots, ...
MARTS = f"{SCHEMA}_marts"
FIRST_NIGHT = REAL_BUILD_DAY + timedelta(days=1)
NIGHTS = 7
FULL_REFRESH_NIGHT = 4
LATE_EVENT_DAY = 3
TIMEZONE = "America/New_York"  # dbt var shop_timezone
MODELS_ONLY = ["--exclude", "resource_type:test", "resource_type:unit_test"]
# What the checks read and everything upstream (snapshots included); the other marts are plain tables of these.
NIGHTLY = [
    "--select",
    "+fct_shop_events",
    "+fct_shop_orders",
    "+rpt_shop_product_funnel_weekly",
    "+fct_grocery_order_lines",
    "+fct_grocery_orders",
    "+int_grocery__users",
]
# The intraday models that sessions straddle: events and the sessions that attribute them.
INTRADAY = ["--select", "tag:intraday,+fct_shop_events"]
SNAPSHOT_COLUMNS = ["status", "tracking_id", "shipping_service", "estimated_delivery_at", "delivered_at"]


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def add_late_event(shop_db: Path, day: date) -> str:
    """An event stamped in the last instant of yesterday that reaches the app database only today (a phone that
    was offline): the loader takes it (it is newer than anything loaded), but its time is outside today's
    interval, so a model windowed on event time would never see it."""
    stamp = (midnight(day) - timedelta(microseconds=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
    event_id = str(uuid.uuid4())
    with sqlite3.connect(shop_db) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(events)")]
        session_id, user_id = db.execute(
            "SELECT session_id, user_id FROM events WHERE user_id IS NOT NULL ORDER BY created_at DESC LIMIT 1"
        ).fetchone()
        values = {
            "event_id": event_id,
            "session_id": session_id,
            "user_id": user_id,
            "page_url": "/late",
            "event_type": "page_view",
            "created_at": stamp,
            "updated_at": stamp,
        }
        names = [c for c in columns if c in values]
        db.execute(
            f"INSERT INTO events ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
            [values[c] for c in names],
        )
    return event_id


class Replay:
    """The raw data, the dbt runner and what the snapshots should have seen so far."""

    def __init__(self, copy: RealBuildCopy):
        self.root = copy.root
        self.settings = copy.warehouse
        self.ch = get_client(copy.warehouse)
        self.pipelines = copy.pipelines
        self.instacart = copy.root / "instacart"
        self.shop_db = copy.root / "shop.sqlite"
        self.shop_url = copy.shop_url
        self.dbt = copy.dbt(SCHEMA)
        self.seen_orders: dict[str, tuple] = {}
        self.expected_versions = 0

    def load_shop(self, **kwargs) -> None:
        from orchard.sources.shop.pipeline import run_shop

        run_shop(
            self.shop_url, database=RAW_SHOP, settings=self.settings, pipelines_dir=self.pipelines, **kwargs
        )

    def load_instacart(self, **kwargs):
        from orchard.sources.instacart.pipeline import run_instacart

        return run_instacart(
            self.instacart,
            database=RAW_INSTACART,
            settings=self.settings,
            pipelines_dir=self.pipelines,
            **kwargs,
        )

    def nightly(self, *args: str) -> None:
        self.dbt("build", *NIGHTLY, *MODELS_ONLY, *args)
        self.count_order_changes()

    def intraday(self) -> None:
        self.dbt("build", *INTRADAY, *MODELS_ONLY)

    def count_order_changes(self) -> None:
        """Each snapshot run (nightly) adds a version for every new order and every order whose watched columns changed
        in the raw table since the last run: count them here from raw."""
        rows = self.ch.query(
            f"select toString(order_id), {', '.join(f'toString({c})' for c in SNAPSHOT_COLUMNS)} "
            f"from {RAW_SHOP}.orders order by _loaded_at desc limit 1 by order_id"
        ).result_rows
        for order_id, *state in rows:
            state = tuple(None if v in ("", None) else v for v in state)
            if self.seen_orders.get(order_id) != state:
                self.expected_versions += 1
                self.seen_orders[order_id] = state

    def compile_full_rebuilds(self) -> None:
        """The SELECT a --full-refresh build of each incremental model runs (found in the manifest, so a new
        incremental model is checked too), compiled once: each night it runs on that night's data."""
        self.dbt("compile", "--select", "config.materialized:incremental", "--full-refresh")
        nodes = self.dbt.manifest()["nodes"].values()
        self.full_rebuilds = {
            n["relation_name"]: n["compiled_code"]
            for n in nodes
            if n["resource_type"] == "model" and n["config"]["materialized"] == "incremental"
        }
        assert self.full_rebuilds, "the project has no incremental models any more: update this test"

    def checksum(self, relation: str) -> tuple:
        return self.ch.query(f"select count(), groupBitXor(cityHash64(*)) from {relation}").result_rows[0]

    def full_refresh_differences(self) -> dict:
        """Each incremental table against what a full refresh would build from the same data."""
        differences = {}
        for model, select in self.full_rebuilds.items():
            incremental, rebuilt = self.checksum(model), self.checksum(f"({select})")
            if incremental != rebuilt:
                differences[model] = {"incremental": incremental, "full refresh": rebuilt}
        return differences

    def reconciliation_differences(self) -> dict:
        """Each mart figure against the same figure computed from the raw tables."""
        q = self.ch.query
        problems = {}
        raw_lines = q(
            f"select uniqExact(order_id, product_id) from ("
            f"select order_id, product_id from {RAW_INSTACART}.order_products_prior union all "
            f"select order_id, product_id from {RAW_INSTACART}.order_products_train)"
        ).result_rows[0][0]
        fact_lines = q(f"select count() from {MARTS}.fct_grocery_order_lines").result_rows[0][0]
        if raw_lines != fact_lines:
            problems["order lines"] = (raw_lines, fact_lines)
        raw_days = q(
            f"select toDate(parseDateTime64BestEffort(toString(created_at), 6, 'UTC'), '{TIMEZONE}') as day, "
            f"count(), sum(toDecimal64(order_total, 2)) "
            f"from (select * from {RAW_SHOP}.orders order by _loaded_at desc limit 1 by order_id) "
            f"group by day order by day"
        ).result_rows
        mart_days = q(
            f"select created_date, count(), sum(order_total) from {MARTS}.fct_shop_orders "
            f"group by created_date order by created_date"
        ).result_rows
        if raw_days != mart_days:
            problems["orders and revenue per day"] = (raw_days[-3:], mart_days[-3:])
        raw_events = f"(select * from {RAW_SHOP}.events order by _loaded_at desc limit 1 by event_id)"
        raw_funnel = q(
            f"select uniqExactIf((session_id, product_id), event_type = 'page_view'), "
            f"uniqExactIf((session_id, product_id), added) from ("
            f"select session_id, product_id, event_type, "
            f"(session_id, product_id) in (select session_id, product_id from {raw_events} "
            f"where event_type = 'add_to_cart') as added "
            f"from {raw_events} where product_id != '' and product_id is not null and event_type = 'page_view')"
        ).result_rows[0]
        mart_funnel = q(
            f"select sum(viewed_sessions), sum(cart_sessions) from {MARTS}.rpt_shop_product_funnel_weekly"
        ).result_rows[0]
        if tuple(raw_funnel) != tuple(mart_funnel):
            problems["product funnel viewed and cart sessions"] = (raw_funnel, mart_funnel)
        versions = q(f"select count() from {SCHEMA}_snapshots.snp_shop__orders").result_rows[0][0]
        if versions != self.expected_versions:
            problems["order snapshot versions"] = (self.expected_versions, versions)
        return problems


@pytest.fixture(scope="module")
def replay(real_build):
    # the night before the first: the real build (shop simulated up to REAL_BUILD_DAY, everything loaded, a full
    # build on an empty warehouse), in a copy of its own
    assert real_build.results["returncode"] == 0, real_build.results["output"]
    copy = real_build.copy("replay")
    replay = Replay(copy)
    replay.count_order_changes()  # the versions that build's snapshots took
    replay.compile_full_rebuilds()
    yield replay
    replay.ch.close()
    copy.process.stop()


def test_a_week_of_nights_stays_equal_to_full_rebuilds_and_to_raw(replay):
    from orchard_dev.shop_sample.simulator import simulate

    late_event = None
    for night in range(1, NIGHTS + 1):
        day = FIRST_NIGHT + timedelta(days=night - 1)
        start = midnight(day)
        simulate(replay.shop_url, day)
        if night == LATE_EVENT_DAY:
            late_event = add_late_event(replay.shop_db, day)
        # intraday: only the events have arrived so far (sessions straddle this run and the next)
        replay.load_shop(tables=["events"])
        replay.intraday()
        # the nightly for the day: the day's shop rows, the Instacart drop (every other day), then the build
        replay.load_shop(day=day)
        if night % 2 == 0:
            write_instacart_drop(replay.instacart, day, new_users=night)
        report = replay.load_instacart(interval=(start, start + timedelta(days=1)))
        assert report.total_rows == (6 * night if night % 2 == 0 else 0), report.format()
        replay.nightly(*(["--full-refresh"] if night == FULL_REFRESH_NIGHT else []))

        assert replay.full_refresh_differences() == {}, f"night {night}: incremental != full refresh"
        assert replay.reconciliation_differences() == {}, f"night {night}: marts do not reconcile with raw"
    assert late_event
    assert replay.ch.query(
        f"select count() from {MARTS}.fct_shop_events where event_id = '{late_event}'"
    ).result_rows == [(1,)]
