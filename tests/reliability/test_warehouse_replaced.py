"""The warehouse behind the loads is replaced: `clickhouse_default` moved to a new server and back, or the
embedded warehouse's data folder deleted. dlt's working folder remembers the tables it created and the
incremental cursors of the warehouse it loaded; a load into another warehouse must not trust them."""

from __future__ import annotations

import uuid

import pytest
from load_fixtures import Shop

from orchard.settings import ClickHouseSettings
from orchard.sources.shop.pipeline import run_shop
from orchard.warehouse.client import get_client

pytestmark = pytest.mark.integration


def _counts(settings: ClickHouseSettings, db: str) -> dict[str, int]:
    """Rows per shop table in one raw database."""
    client = get_client(settings)
    try:
        tables = client.query(
            "SELECT name FROM system.tables WHERE database = %(db)s AND NOT startsWith(name, '_dlt')",
            parameters={"db": db},
        ).result_rows
        return {name: int(client.command(f"SELECT count() FROM `{db}`.`{name}`")) for (name,) in tables}
    finally:
        client.close()


@pytest.mark.reliability(
    fault="the warehouse is replaced by an empty one (`clickhouse_default` moved to a new server, or the "
    "embedded warehouse's data folder deleted) after loads into the old one",
    behaviour="the next load sees the raw database missing, forgets dlt's state of the old warehouse and "
    "creates the tables again: a load without an interval brings every row, one with an interval its rows",
)
def test_loads_into_an_empty_warehouse_after_another_start_over(warehouse, start_warehouse, tmp_path):
    shop = Shop(tmp_path / "shop.db")
    for day in range(3):
        shop.day(day, ship=1 if day else 0)
    db, pipelines = f"raw_shop_m{uuid.uuid4().hex[:8]}", tmp_path / "dlt"
    run_shop(shop.url, shop.interval(0), settings=warehouse, database=db, pipelines_dir=pipelines)
    everything = run_shop(shop.url, None, settings=warehouse, database=db, pipelines_dir=pipelines)
    assert sum(everything.rows.values()) > 0
    in_the_old = _counts(warehouse, db)

    # moved to a new, empty warehouse: a load without an interval (a run without a logical date) loads all
    new = ClickHouseSettings(host="127.0.0.1", port=start_warehouse().port)
    moved = run_shop(shop.url, None, settings=new, database=db, pipelines_dir=pipelines)
    assert sorted(moved.new_tables) == sorted(in_the_old), moved.format()
    assert _counts(new, db) == in_the_old

    # the data folder deleted: an interval load into an empty warehouse creates its tables and loads its rows
    emptied = ClickHouseSettings(host="127.0.0.1", port=start_warehouse().port)
    day_two = run_shop(shop.url, shop.interval(2), settings=emptied, database=db, pipelines_dir=pipelines)
    assert day_two.rows and _counts(emptied, db) == {
        table: day_two.rows.get(table, 0) for table in _counts(emptied, db)
    }, day_two.format()


@pytest.mark.reliability(
    fault="`clickhouse_default` moved to another warehouse, loaded there, and moved back to the first",
    behaviour="each warehouse keeps its own dlt working folder and cursors: back in the first, a load without "
    "an interval brings every row the first lacks, none skipped by the other warehouse's cursors",
)
def test_a_warehouse_moved_back_to_gets_the_rows_loaded_elsewhere_meanwhile(
    warehouse, start_warehouse, tmp_path
):
    shop = Shop(tmp_path / "shop.db")
    for day in range(3):
        shop.day(day)
    db, pipelines = f"raw_shop_b{uuid.uuid4().hex[:8]}", tmp_path / "dlt"
    run_shop(shop.url, None, settings=warehouse, database=db, pipelines_dir=pipelines)
    first = _counts(warehouse, db)
    assert first["events"] == 15 and first["users"] == 9, first

    # then the connection points at another warehouse for two days: it loads everything, each new day included
    other = ClickHouseSettings(host="127.0.0.1", port=start_warehouse().port)
    for day in (3, 4):
        shop.day(day)
        run_shop(shop.url, None, settings=other, database=db, pipelines_dir=pipelines)
    assert _counts(other, db)["events"] == 25, _counts(other, db)

    # back to the first: the two new days' rows arrive there too, not skipped by the other warehouse's cursors
    back = run_shop(shop.url, None, settings=warehouse, database=db, pipelines_dir=pipelines)
    again = _counts(warehouse, db)
    assert (again["events"], again["users"]) == (25, 15), back.format()
