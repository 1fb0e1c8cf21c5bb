"""The shop pipeline against the embedded warehouse: intervals, reruns, next days and bad input."""

from __future__ import annotations

import uuid

import pytest
from load_fixtures import Shop

from orchard.load.contracts import SourceDataError, TypeChangeRefused
from orchard.sources.shop.pipeline import run_shop

pytestmark = pytest.mark.integration

SHOP_TABLES = {"users", "products", "orders", "order_items", "events"}
DLT_TABLES = {"_dlt_loads", "_dlt_pipeline_state", "_dlt_version"}


@pytest.fixture
def db() -> str:
    return f"raw_shop_t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def shop(tmp_path) -> Shop:
    return Shop(tmp_path / "shop.db")


@pytest.fixture
def load(warehouse, db, tmp_path):
    def run(url, interval=None, **kwargs):
        return run_shop(
            url, interval, settings=warehouse, database=db, pipelines_dir=tmp_path / "dlt", **kwargs
        )

    return run


def counts(ch, db) -> dict[str, int]:
    rows = ch.query(f"SELECT name FROM system.tables WHERE database = '{db}'").result_rows
    return {name: ch.command(f"SELECT count() FROM `{db}`.`{name}`") for (name,) in rows}


def shop_counts(ch, db) -> dict[str, int]:
    return {t: n for t, n in counts(ch, db).items() if t in SHOP_TABLES}


def test_first_day_loads_exact_tables_and_counts(load, shop, ch, db):
    touched = shop.day(0)
    report = load(shop.url, shop.interval(0))
    found = counts(ch, db)
    assert set(found) == SHOP_TABLES | DLT_TABLES  # _orchard_sim_state is not shop data
    assert shop_counts(ch, db) == touched
    assert report.rows == touched
    types = dict(
        ch.query(
            f"SELECT name, type FROM system.columns WHERE database='{db}' AND table='orders'"
        ).result_rows
    )
    assert types["order_id"] == "String"
    assert types["updated_at"] == "DateTime64(6, 'UTC')"
    assert types["_loaded_at"] == "DateTime64(6, 'UTC')"
    engine = ch.command(f"SELECT engine_full FROM system.tables WHERE database='{db}' AND name='events'")
    assert engine.startswith("ReplacingMergeTree(updated_at)")


def test_rerun_of_the_same_interval_changes_nothing(load, shop, ch, db):
    shop.day(0)
    load(shop.url, shop.interval(0))
    before = ch.query(
        f"SELECT order_id, status, _dlt_load_id FROM `{db}`.orders ORDER BY order_id"
    ).result_rows
    report = load(shop.url, shop.interval(0))
    assert report.rows == {}
    assert sum(report.skipped_unchanged.values()) == 17
    assert (
        ch.query(f"SELECT order_id, status, _dlt_load_id FROM `{db}`.orders ORDER BY order_id").result_rows
        == before
    )
    assert shop_counts(ch, db) == {"users": 3, "products": 3, "orders": 2, "order_items": 4, "events": 5}


def test_next_day_loads_only_new_and_changed_rows(load, shop, ch, db):
    shop.day(0)
    load(shop.url, shop.interval(0))
    first_order = ch.command(f"SELECT min(order_id) FROM `{db}`.orders")
    touched = shop.day(1, users=2, orders=1, events=4, ship=2)
    report = load(shop.url, shop.interval(1))
    assert report.rows == {"users": 2, "orders": 3, "order_items": 2, "events": 4}
    # the two shipped orders were merged on their key, not duplicated
    assert shop_counts(ch, db) == {"users": 5, "products": 3, "orders": 3, "order_items": 6, "events": 9}
    assert ch.command(f"SELECT countIf(status = 'shipped') FROM `{db}`.orders") == 2
    assert ch.command(f"SELECT count() FROM `{db}`.orders WHERE order_id = '{first_order}'") == 1
    assert touched["orders"] == 3


def test_without_interval_dlt_state_picks_up_where_it_stopped(load, shop, ch, db):
    shop.day(0)
    shop.day(1)
    first = load(shop.url)
    assert first.rows == {"users": 6, "products": 3, "orders": 4, "order_items": 8, "events": 10}
    assert load(shop.url).rows == {}
    shop.day(2, users=1, orders=0, events=1, ship=1)
    assert load(shop.url).rows == {"users": 1, "orders": 1, "events": 1}
    assert shop_counts(ch, db)["users"] == 7


def test_a_day_loads_its_own_interval(load, shop, ch, db):
    shop.day(0)
    load(shop.url, shop.interval(0))
    shop.day(1, users=1, orders=1, events=1)
    report = load(shop.url, day="2026-11-02")
    assert report.rows == {"users": 1, "orders": 1, "order_items": 2, "events": 1}
    assert report.interval == ("2026-11-02T00:00:00+00:00", "2026-11-03T00:00:00+00:00")


def test_first_load_of_a_table_takes_its_history(load, shop, ch, db):
    """A first run for a late interval must not leave out the products and users its orders point at."""
    history = shop.day(0)
    shop.day(1, users=1, orders=1, events=1)
    report = load(shop.url, shop.interval(1))
    assert report.rows["products"] == history["products"]
    assert shop_counts(ch, db)["users"] == history["users"] + 1
    assert (
        ch.command(
            f"SELECT count() FROM `{db}`.order_items WHERE product_id NOT IN (SELECT product_id FROM `{db}`.products)"
        )
        == 0
    )


def test_rows_stamped_before_the_interval_but_after_the_last_load_are_not_skipped(load, shop, ch, db):
    """A row that reached the app after the previous run, stamped before this run's interval (the
    app's clock and the schedule disagree), is loaded by this run instead of being skipped for good."""
    shop.day(0)
    load(shop.url, shop.interval(0))
    late = shop.day(1, users=2, orders=1, events=2)  # stamped at noon of day 1
    start, end = shop.interval(1)
    report = load(shop.url, (start.replace(hour=13), end))  # this interval starts after them
    assert report.rows == late
    assert report.interval[0].startswith(start.date().isoformat() + "T13:00")


# --- bad input ---------------------------------------------------------------------------------------


def test_null_primary_key_is_quarantined(load, shop, ch, db):
    shop.day(0)
    with shop.connect() as conn:
        conn.execute(
            "INSERT INTO users VALUES (NULL, 'ghost', 'g@example.com', '2026-11-01 12:00:00.000000',"
            " '2026-11-01 13:00:00.000000')"
        )
    report = load(shop.url, shop.interval(0))
    assert shop_counts(ch, db)["users"] == 3
    assert report.quarantined == {"users": 1}
    row = ch.query(f"SELECT table_name, reason, raw_row FROM `{db}`._quarantine").result_rows
    assert row[0][:2] == ("users", "null primary key: user_id")
    assert "ghost" in row[0][2]


@pytest.mark.reliability(
    fault="the shop database gains a column",
    behaviour="the load adds the column to the raw table and reports it",
)
def test_new_column_in_the_source_is_added_and_reported(load, shop, ch, db):
    shop.day(0)
    load(shop.url, shop.interval(0))
    with shop.connect() as conn:
        conn.execute("ALTER TABLE users ADD COLUMN phone_number TEXT")
    shop.day(1, users=2, orders=0, events=0)
    report = load(shop.url, shop.interval(1))
    assert report.new_columns == {"users": ["phone_number"]}
    assert "phone_number" in report.format()
    assert shop_counts(ch, db)["users"] == 5


@pytest.mark.reliability(
    fault="a shop column changes to a type that would lose data",
    behaviour="the load stops naming table, column and both types; nothing of that run is written",
)
def test_type_change_that_loses_data_is_refused(load, shop, ch, db):
    shop.day(0)
    load(shop.url, shop.interval(0))
    loaded = counts(ch, db)
    with shop.connect() as conn:
        # inventory becomes text: 'lots' cannot go into the Int64 column
        conn.executescript(
            "ALTER TABLE products RENAME TO products_old;"
            "CREATE TABLE products (product_id TEXT PRIMARY KEY, name TEXT, price FLOAT, inventory TEXT,"
            " created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL);"
            "INSERT INTO products SELECT product_id, name, price, 'lots', created_at,"
            " '2026-11-02 10:00:00.000000' FROM products_old;"
            "DROP TABLE products_old;"
        )
    shop.day(1, users=1, orders=0, events=0)
    with pytest.raises(TypeChangeRefused) as err:
        load(shop.url, shop.interval(1))
    message = str(err.value)
    assert f"{db}.products" in message and "`inventory`" in message
    assert "Int64" in message and "string" in message
    assert counts(ch, db) == loaded


def test_unreachable_source_database_is_refused(load, ch, db, tmp_path, shop):
    shop.day(0)
    load(shop.url, shop.interval(0))
    loaded = counts(ch, db)
    missing = tmp_path / "nowhere" / "shop.db"
    with pytest.raises(
        SourceDataError, match=r"Cannot reach the shop database sqlite:///.*nowhere/shop\.db"
    ) as err:
        load(f"sqlite:///{missing}", shop.interval(0))
    assert "orchard sample shop" in str(err.value)
    assert not missing.exists()
    assert counts(ch, db) == loaded
