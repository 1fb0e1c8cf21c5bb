"""The shop app database on a real PostgreSQL server: the simulator writes it, dlt's SQL source reads it
with its incremental cursors, and `raw_shop` ends up with the same rows as from the same shop on SQLite."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from orchard.load import run_shop
from orchard.load.contracts import SourceDataError
from orchard.sources.shop.sample import ShopSampleError, simulate

pytestmark = pytest.mark.integration

START, FIRST_LOAD, NEXT_DAY = date(2026, 11, 1), date(2026, 11, 3), date(2026, 11, 4)
SEED = 7
LOAD_COLUMNS = ("_dlt_load_id", "_dlt_id", "_loaded_at")  # differ per load by design


def day_interval(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def shop_tables(ch, db: str) -> list[str]:
    return [
        name
        for (name,) in ch.query(
            f"SELECT name FROM system.tables WHERE database = '{db}' AND NOT startsWith(name, '_') ORDER BY name"
        ).result_rows
    ]


def column_types(ch, db: str, table: str) -> dict[str, str]:
    rows = ch.query(
        f"SELECT name, type FROM system.columns WHERE database = '{db}' AND table = '{table}'"
    ).result_rows
    return {name: kind for name, kind in rows if name not in LOAD_COLUMNS}


def table_rows(ch, db: str, table: str) -> list[tuple]:
    columns = ", ".join(f"`{name}`" for name in sorted(column_types(ch, db, table)))
    return ch.query(f"SELECT {columns} FROM `{db}`.`{table}` ORDER BY ALL SETTINGS final = 1").result_rows


@pytest.fixture
def shops(postgres, tmp_path) -> dict[str, str]:
    """The same simulated shop (seed, days) on PostgreSQL and on SQLite: name -> SQLAlchemy URL."""
    return {
        "postgresql": postgres.create_database(f"shop_{uuid.uuid4().hex[:8]}"),
        "sqlite": f"sqlite:///{tmp_path / 'shop.db'}",
    }


def test_postgresql_shop_loads_the_same_rows_as_sqlite(shops, warehouse, ch, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    targets = {name: f"raw_shop_{name}_{suffix}" for name in shops}
    reports: dict[str, list] = {name: [] for name in shops}
    for name, url in shops.items():

        def load(day: date, url=url, name=name):
            return run_shop(
                url,
                day_interval(day),
                settings=warehouse,
                database=targets[name],
                pipelines_dir=tmp_path / f"dlt-{name}",
            )

        simulate(url, until=FIRST_LOAD, start=START, seed=SEED)
        reports[name].append(load(FIRST_LOAD))  # first load: every table's history up to the day's end
        simulate(url, until=NEXT_DAY)  # orders ship, stock changes: updated rows as well as new ones
        reports[name].append(load(NEXT_DAY))
        reports[name].append(load(NEXT_DAY))  # rerun of the same day: nothing new

    pg, lite = reports["postgresql"], reports["sqlite"]
    assert pg[0].rows and pg[1].rows, "each load must move rows, or the comparison proves nothing"
    assert [r.rows for r in pg] == [r.rows for r in lite]
    assert pg[2].rows == {} and sum(pg[2].skipped_unchanged.values()) > 0
    assert pg[0].quarantined == {} and pg[1].quarantined == {}

    tables = shop_tables(ch, targets["postgresql"])
    assert tables == shop_tables(ch, targets["sqlite"])
    assert {"orders", "order_items", "products", "users", "events"} <= set(tables)
    for table in tables:
        assert column_types(ch, targets["postgresql"], table) == column_types(ch, targets["sqlite"], table), (
            table
        )
        rows = table_rows(ch, targets["postgresql"], table)
        assert rows, f"{table} is empty"
        assert rows == table_rows(ch, targets["sqlite"], table), table


# --- bad input ---------------------------------------------------------------------------------------


def test_wrong_postgresql_password_is_refused_naming_the_database_and_the_fix(
    postgres, warehouse, ch, tmp_path
):
    url = postgres.create_database(f"shop_{uuid.uuid4().hex[:8]}")
    db = f"raw_shop_pw_{uuid.uuid4().hex[:8]}"
    simulate(url, until=START, start=START, seed=SEED)
    run_shop(url, day_interval(START), settings=warehouse, database=db, pipelines_dir=tmp_path / "dlt")
    loaded = {t: ch.command(f"SELECT count() FROM `{db}`.`{t}`") for t in shop_tables(ch, db)}

    wrong = url.replace(f":{postgres.password}@", ":not-the-password@")
    with pytest.raises(SourceDataError) as err:
        run_shop(wrong, day_interval(START), settings=warehouse, database=db, pipelines_dir=tmp_path / "dlt")
    message = str(err.value)
    assert (
        f"Cannot reach the shop database postgresql+psycopg2://orchard:***@127.0.0.1:{postgres.port}"
        in message
    )
    assert "password authentication failed" in message and "AIRFLOW_CONN_SHOP_DB" in message
    assert "not-the-password" not in message
    assert {t: ch.command(f"SELECT count() FROM `{db}`.`{t}`") for t in shop_tables(ch, db)} == loaded


def test_simulator_refuses_a_postgresql_server_that_is_not_running(postgres):
    from orchard.warehouse.lifecycle import free_port

    url = f"postgresql+psycopg2://orchard:secret-pw@127.0.0.1:{free_port()}/shop"
    with pytest.raises(ShopSampleError) as err:
        simulate(url, until=START, start=START)
    message = str(err.value)
    assert "cannot open the shop database postgresql+psycopg2://orchard:***@127.0.0.1" in message
    assert "that the database server is running" in message and "secret-pw" not in message
