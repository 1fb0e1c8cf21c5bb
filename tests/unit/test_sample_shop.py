"""The shop app database simulation: deterministic day by day, rows that change, refusals that protect it."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from orchard.cli import app
from orchard_dev.shop_sample import schema
from orchard_dev.shop_sample.simulator import ShopSampleError, simulate

pytestmark = pytest.mark.unit

START = date(2026, 10, 1)
DAYS = 12
UNTIL = START + timedelta(days=DAYS - 1)


def dump(url: str) -> dict[str, list[tuple]]:
    """Every row of every table (state included), in key order."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        out = {
            t.name: [tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns))]
            for t in [*schema.SHOP_TABLES, schema.sim_state]
        }
    engine.dispose()
    return out


def rows(url: str, table: sa.Table) -> list[dict]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        out = [dict(r._mapping) for r in conn.execute(sa.select(table))]
    engine.dispose()
    return out


@pytest.fixture(scope="module")
def daily(tmp_path_factory) -> tuple[str, list[dict[str, list[tuple]]]]:
    """A database built one day at a time, with a dump after every day."""
    url = f"sqlite:///{tmp_path_factory.mktemp('shop') / 'daily.db'}"
    dumps = []
    for n in range(DAYS):
        simulate(url, until=START + timedelta(days=n), start=START if n == 0 else None, seed=5)
        dumps.append(dump(url))
    return url, dumps


def test_day_by_day_equals_all_at_once(daily, tmp_path: Path) -> None:
    url, dumps = daily
    at_once = f"sqlite:///{tmp_path / 'once.db'}"
    result = simulate(at_once, until=UNTIL, start=START, seed=5)
    assert result.days_simulated == DAYS
    assert dump(at_once) == dumps[-1]
    other_seed = f"sqlite:///{tmp_path / 'other.db'}"
    simulate(other_seed, until=UNTIL, start=START, seed=6)
    assert dump(other_seed)["orders"] != dumps[-1]["orders"]


def test_volumes_are_modest_and_every_table_is_filled(daily) -> None:
    _, dumps = daily
    last = dumps[-1]
    for table in ("users", "addresses", "promos", "products", "orders", "order_items", "events"):
        assert last[table], table
    assert 80 <= len(last["users"]) <= 300 and 100 <= len(last["orders"]) <= 400
    assert dict(last[schema.STATE_TABLE]) == {
        "seed": "5",
        "start": "2026-10-01",
        "last_day": UNTIL.isoformat(),
    }


def test_next_day_changes_rows_that_earlier_days_created(daily) -> None:
    _, dumps = daily
    for before, after in zip(dumps[3:-1], dumps[4:], strict=True):
        old = {r[0]: r for r in before["orders"]}
        changed = [r for r in after["orders"] if r[0] in old and r != old[r[0]]]
        assert changed, "no earlier order changed overnight"
        for table in ("orders", "products", "users", "promos"):
            key = schema.metadata.tables[table].primary_key.columns.keys()[0]
            index = list(schema.metadata.tables[table].c.keys())
            stamps = {r[index.index(key)]: r[index.index("updated_at")] for r in before[table]}
            for r in after[table]:
                previous = stamps.get(r[index.index(key)])
                assert previous is None or r[index.index("updated_at")] >= previous  # never back in time


def test_order_statuses_advance_with_shipping_details(daily) -> None:
    url, dumps = daily
    rank = {s: i for i, s in enumerate(schema.ORDER_STATUSES)}
    status = list(schema.orders.c.keys()).index("status")
    for before, after in zip(dumps, dumps[1:], strict=False):
        old = {r[0]: r[status] for r in before["orders"]}
        for r in after["orders"]:
            assert rank[r[status]] >= rank[old.get(r[0], "preparing")]  # forward only
    orders = rows(url, schema.orders)
    by_status = {s: [o for o in orders if o["status"] == s] for s in schema.ORDER_STATUSES}
    assert all(by_status.values()), {s: len(v) for s, v in by_status.items()}
    for o in by_status["preparing"]:
        assert o["tracking_id"] is None and o["shipping_service"] is None and o["delivered_at"] is None
    for o in by_status["shipped"] + by_status["delivered"]:
        assert o["tracking_id"] and o["shipping_service"] in schema.SHIPPING_SERVICES
        assert o["estimated_delivery_at"] > o["created_at"]
    for o in by_status["delivered"]:
        assert o["delivered_at"] > o["created_at"] and o["updated_at"] == o["delivered_at"]
    promos = {p["promo_id"]: p["discount"] for p in rows(url, schema.promos)}
    for o in orders:
        discount = min(promos[o["promo_id"]], o["order_cost"]) if o["promo_id"] else 0
        assert o["order_total"] == pytest.approx(o["order_cost"] + o["shipping_cost"] - discount)
    shipped_events = [e for e in rows(url, schema.events) if e["event_type"] == "package_shipped"]
    assert len(shipped_events) == len(by_status["shipped"]) + len(by_status["delivered"])


def test_inventory_falls_runs_out_and_is_restocked_never_negative(daily) -> None:
    url, dumps = daily
    inventory = list(schema.products.c.keys()).index("inventory")
    history = [{r[0]: r[inventory] for r in d["products"]} for d in dumps]
    assert all(level >= 0 for day in history for level in day.values())
    ids = history[0].keys()
    assert any(history[i + 1][p] < history[i][p] for i in range(DAYS - 1) for p in ids)  # sales
    assert any(history[i + 1][p] > history[i][p] for i in range(DAYS - 1) for p in ids)  # restocks
    assert any(history[i][p] <= 3 for i in range(DAYS) for p in ids)  # ran (nearly) out
    # stock after a day = stock before - items sold that day + at most one restock: sales come out of stock
    sold: dict[tuple[date, str], int] = {}
    for item in rows(url, schema.order_items):
        key = (item["created_at"].date(), item["product_id"])
        sold[key] = sold.get(key, 0) + item["quantity"]
    for i in range(1, DAYS):
        day = START + timedelta(days=i)
        for p in ids:
            restocked = history[i][p] - history[i - 1][p] + sold.get((day, p), 0)
            assert restocked == 0 or 40 <= restocked <= 120, (day, p, restocked)


def test_events_follow_the_funnel(daily) -> None:
    url, _ = daily
    events = rows(url, schema.events)
    assert {e["event_type"] for e in events} == set(schema.EVENT_TYPES)
    users = {u["user_id"] for u in rows(url, schema.users)}
    orders = {o["order_id"] for o in rows(url, schema.orders)}
    for e in events:
        assert e["created_at"] == e["updated_at"]
        if e["event_type"] == "signup_started":
            assert e["user_id"] is None
        else:
            assert e["user_id"] in users or (e["event_type"] == "page_view" and e["user_id"] is None)
        if e["event_type"] in ("checkout", "package_shipped"):
            assert e["order_id"] in orders
        if e["event_type"] == "add_to_cart":
            assert e["product_id"]
    starts = sum(e["event_type"] == "signup_started" for e in events)
    created = sum(e["event_type"] == "account_created" for e in events)
    checkouts = sum(e["event_type"] == "checkout" for e in events)
    carts = len({e["session_id"] for e in events if e["event_type"] == "add_to_cart"})
    assert created == len(users) and 0.6 * starts < created < starts  # some drop off
    assert checkouts == len(orders) and checkouts < carts  # some carts are abandoned


def test_rerun_with_same_until_is_a_no_op(daily) -> None:
    url, dumps = daily
    result = simulate(url, until=UNTIL)
    assert result.days_simulated == 0
    assert dump(url) == dumps[-1]


def test_earlier_until_is_refused_and_nothing_changes(daily) -> None:
    url, dumps = daily
    with pytest.raises(ShopSampleError, match=f"already simulated up to {UNTIL}.*only moves forward"):
        simulate(url, until=UNTIL - timedelta(days=3))
    assert dump(url) == dumps[-1]


def test_other_seed_or_start_on_an_existing_database_is_refused(daily) -> None:
    url, dumps = daily
    with pytest.raises(ShopSampleError, match="simulated with --seed 5, not 6"):
        simulate(url, until=UNTIL + timedelta(days=1), seed=6)
    with pytest.raises(ShopSampleError, match="simulated from 2026-10-01"):
        simulate(url, until=UNTIL + timedelta(days=1), start=START + timedelta(days=1))
    assert dump(url) == dumps[-1]


def test_new_database_defaults_and_bad_ranges(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'shop.db'}"
    with pytest.raises(ShopSampleError, match="before --start"):
        simulate(url, until=START, start=START + timedelta(days=1))
    result = simulate(url, until=START + timedelta(days=2))
    assert result.start == START + timedelta(days=2) - timedelta(days=29) and result.days_simulated == 30


def test_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    schema.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(schema.promos.insert().values(promo_id="x", discount=1, status="active",
                                                   created_at=sa.func.now(), updated_at=sa.func.now()))  # fmt: skip
    engine.dispose()
    with pytest.raises(ShopSampleError, match="not built by `orchard sample shop`"):
        simulate(f"sqlite:///{path}", until=START)
    app_db = tmp_path / "real_app.db"
    engine = sa.create_engine(f"sqlite:///{app_db}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE customers (id INTEGER PRIMARY KEY)"))
    with pytest.raises(ShopSampleError, match=r"already holds tables \(customers\).*left alone"):
        simulate(f"sqlite:///{app_db}", until=START)
    assert sa.inspect(engine).get_table_names() == ["customers"]  # nothing created in someone else's database
    engine.dispose()


def test_unreachable_database_is_refused() -> None:
    with pytest.raises(ShopSampleError, match="not a SQLAlchemy URL"):
        simulate("not a url", until=START)
    with pytest.raises(ShopSampleError, match="cannot create"):
        simulate("sqlite:////proc/no/such/dir/shop.db", until=START)


def test_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    ok = runner.invoke(app, ["sample", "shop", "--until", "2026-10-05", "--start", "2026-10-01", "--db", db])
    assert ok.exit_code == 0, ok.output
    assert "Simulated 5 day(s) up to 2026-10-05" in ok.output
    again = runner.invoke(app, ["sample", "shop", "--until", "2026-10-05", "--db", db])
    assert again.exit_code == 0 and "nothing to do" in again.output
    earlier = runner.invoke(app, ["sample", "shop", "--until", "2026-10-02", "--db", db])
    assert earlier.exit_code == 2 and "only moves forward" in earlier.output
    bad = runner.invoke(app, ["sample", "shop", "--until", "5 Oct", "--db", db])
    assert bad.exit_code == 2 and "is not a date" in bad.output


def test_a_concurrent_run_is_detected_and_no_day_is_simulated_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    simulate(url, until=START, start=START, seed=1)

    def other_run_advances(day: date) -> None:  # a second process moves the database on meanwhile
        if day == START + timedelta(days=1):
            simulate(url, until=START + timedelta(days=2))

    with pytest.raises(ShopSampleError, match="another run advanced"):
        simulate(url, until=START + timedelta(days=4), progress=other_run_advances)
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    simulate(reference, until=START + timedelta(days=2), start=START, seed=1)
    assert dump(url) == dump(reference)
