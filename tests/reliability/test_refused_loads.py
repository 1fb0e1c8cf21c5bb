"""Bad input to a load is refused with a message naming the fix, and nothing already loaded changes.

"Nothing changed" is checked by every table's `count()` and `groupBitXor(cityHash64(*))`, dlt's own load
tables included (a refused load must not even record an attempt)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from load_fixtures import Shop, checksums, write_instacart

from orchard.load.contracts import SourceDataError, TypeChangeRefused
from orchard.sources.instacart.pipeline import run_instacart
from orchard.sources.shop.pipeline import run_shop

pytestmark = pytest.mark.integration

DAY = (datetime(2026, 11, 21, tzinfo=UTC), datetime(2026, 11, 22, tzinfo=UTC))
SECRET = "s3cret-not-for-logs"


@pytest.fixture
def instacart_db(warehouse, ch, tmp_path):
    """A raw database holding a good load (the base folder), and its checksums."""
    db = f"raw_instacart_r{uuid.uuid4().hex[:8]}"
    run_instacart(
        write_instacart(tmp_path / "drops"), settings=warehouse, database=db, pipelines_dir=tmp_path / "dlt"
    )
    before = checksums(ch, db)
    assert before["orders"][0] == 4
    return db, before


def _load_day(warehouse, db, tmp_path):
    return run_instacart(
        tmp_path / "drops", DAY, settings=warehouse, database=db, pipelines_dir=tmp_path / "dlt"
    )


@pytest.mark.reliability(
    fault="a daily drop folder with an extra (e.g. renamed) file",
    behaviour="the load is refused naming the file and the files the folder may hold; nothing loaded changes",
)
def test_daily_drop_with_an_extra_file_is_refused(warehouse, ch, instacart_db, tmp_path):
    db, before = instacart_db
    drop = write_instacart(tmp_path / "drops" / "2026-11-21")
    (drop / "orders.csv").rename(drop / "orders (1).csv")
    (drop / "orders.csv").write_text((tmp_path / "drops" / "orders.csv").read_text())
    with pytest.raises(SourceDataError) as err:
        _load_day(warehouse, db, tmp_path)
    message = str(err.value)
    assert f"Unexpected file(s) orders (1).csv in the daily drop folder {drop}" in message
    assert "Rename a file to its expected name, or move the others out; nothing was loaded." in message
    assert checksums(ch, db) == before


@pytest.mark.reliability(
    fault="a daily drop folder without one of its required files (the day's orders or order lines)",
    behaviour="the load is refused naming the file, the folder and how to supply it; nothing loaded changes",
)
def test_daily_drop_with_a_missing_file_is_refused(warehouse, ch, instacart_db, tmp_path):
    db, before = instacart_db
    drop = write_instacart(tmp_path / "drops" / "2026-11-21")
    (drop / "order_products__prior.csv").unlink()
    with pytest.raises(SourceDataError) as err:
        _load_day(warehouse, db, tmp_path)
    # the day's folder is named, not the base folder, which holds every file
    assert f"Missing file order_products__prior.csv in {drop}:" in str(err.value)
    assert "orchard sample instacart --drop 2026-11-21" in str(err.value)
    assert checksums(ch, db) == before


@pytest.mark.reliability(
    fault="a malformed `clickhouse_default` (environment) when a load starts",
    behaviour="the load stops before connecting, naming the connection and its form; nothing loaded changes",
)
def test_load_with_a_malformed_clickhouse_default_changes_nothing(ch, instacart_db, tmp_path, monkeypatch):
    db, before = instacart_db
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLICKHOUSE_DEFAULT", f"clickhouse://default:{SECRET}@127.0.0.1:http/default"
    )
    with pytest.raises(ValueError) as err:
        run_instacart(tmp_path / "drops", database=db, pipelines_dir=tmp_path / "dlt")
    assert "clickhouse_default connection (AIRFLOW_CONN_CLICKHOUSE_DEFAULT) is malformed" in str(err.value)
    assert SECRET not in str(err.value)
    assert checksums(ch, db) == before


@pytest.fixture
def shop_db(warehouse, ch, tmp_path):
    shop = Shop(tmp_path / "shop.db")
    db = f"raw_shop_r{uuid.uuid4().hex[:8]}"
    shop.day(0)
    run_shop(shop.url, shop.interval(0), settings=warehouse, database=db, pipelines_dir=tmp_path / "dlt")
    return shop, db


def _rebuild_products(shop: Shop, columns: str, select: str) -> None:
    """SQLite cannot alter a column's type: rebuild the table as an app migration would."""
    with shop.connect() as conn:
        conn.executescript(
            "ALTER TABLE products RENAME TO products_old;"
            f"CREATE TABLE products ({columns});"
            f"INSERT INTO products SELECT {select} FROM products_old;"
            "DROP TABLE products_old;"
        )


@pytest.mark.reliability(
    fault="a shop column is dropped by an app migration",
    behaviour="the load goes on: the raw column stays, earlier rows keep their values, new rows hold NULL",
)
def test_dropped_source_column_evolves(warehouse, ch, shop_db, tmp_path):
    shop, db = shop_db
    with shop.connect() as conn:
        conn.execute("ALTER TABLE users DROP COLUMN first_name")
    with shop.connect() as conn:  # the fixture's day() writes first_name: add day-1 users by hand
        for i in range(2):
            stamp = f"2026-11-02 12:00:0{i}.000000"
            conn.execute(
                "INSERT INTO users (user_id, email, created_at, updated_at) VALUES (?,?,?,?)",
                (f"new{i}", f"new{i}@example.com", stamp, stamp),
            )
    run_shop(shop.url, shop.interval(1), settings=warehouse, database=db, pipelines_dir=tmp_path / "dlt")
    rows = ch.query(f"SELECT user_id, first_name FROM `{db}`.users ORDER BY user_id").result_rows
    assert len(rows) == 5
    assert {uid: name for uid, name in rows if uid.startswith("new")} == {"new0": None, "new1": None}
    assert all(name for uid, name in rows if not uid.startswith("new"))


@pytest.mark.reliability(
    fault="a shop column's type is widened (INTEGER to REAL) with values the raw column cannot hold",
    behaviour="the load stops naming table, column and both types; nothing of that run is written",
)
def test_widened_source_type_that_loses_data_is_refused(warehouse, ch, shop_db, tmp_path):
    shop, db = shop_db
    before = checksums(ch, db)
    _rebuild_products(
        shop,
        "product_id TEXT PRIMARY KEY, name TEXT, price FLOAT, inventory REAL, created_at DATETIME NOT NULL,"
        " updated_at DATETIME NOT NULL",
        "product_id, name, price, inventory + 0.5, created_at, '2026-11-02 10:00:00.000000'",
    )
    shop.day(1, users=1, orders=1, events=1)
    with pytest.raises(TypeChangeRefused) as err:
        run_shop(shop.url, shop.interval(1), settings=warehouse, database=db, pipelines_dir=tmp_path / "dlt")
    message = str(err.value)
    assert f"{db}.products" in message and "`inventory`" in message and "Int64" in message
    assert checksums(ch, db) == before  # not the day's users, orders or events either
