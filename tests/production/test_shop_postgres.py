"""The shop app database on a real PostgreSQL server: the simulator writes it, dlt's SQL source reads it
with its incremental cursors, and `raw_shop` ends up with the same rows as from the same shop on SQLite."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from orchard.load.contracts import SourceDataError
from orchard.sources.shop.pipeline import run_shop
from orchard_dev.shop_sample.simulator import ShopSampleError, simulate

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


# --- what the platform does with PostgreSQL's changes and refusals -------------------------------------


def naive_utc(value: datetime | None) -> datetime | None:
    """A warehouse timestamp as naive UTC, as the shop stores its stamps."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def test_snapshots_capture_a_postgresql_change_as_a_new_version_closing_the_old(
    postgres, warehouse, ch, tmp_path
):
    """An order's status and a product's inventory change in PostgreSQL; the next shop load and `dbt snapshot`
    add a version of each, valid from the app's updated_at, and close the previous one there."""
    import sqlalchemy as sa
    from dbt_runner import Dbt

    url = postgres.create_database(f"shop_{uuid.uuid4().hex[:8]}")
    suffix = uuid.uuid4().hex[:8]
    raw, schema = f"raw_shop_snap_{suffix}", f"pgsnap_{suffix}"
    simulate(url, until=START, start=START, seed=SEED)  # one day: its orders are still being prepared
    run_shop(url, day_interval(START), settings=warehouse, database=raw, pipelines_dir=tmp_path / "dlt")
    dbt = Dbt(tmp_path / "dbt", "raw_instacart", raw, schema=schema)
    dbt("snapshot", "--select", "snp_shop__orders", "snp_shop__products")

    next_day = START + timedelta(days=1)
    changed_at = datetime(next_day.year, next_day.month, next_day.day, 9, 30)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        order_id, old_status = conn.execute(
            sa.text(
                "SELECT order_id, status FROM orders WHERE status <> 'delivered' ORDER BY order_id LIMIT 1"
            )
        ).one()
        new_status = {"preparing": "shipped", "shipped": "delivered"}[old_status]
        conn.execute(
            sa.text("UPDATE orders SET status = :s, updated_at = :t WHERE order_id = :id"),
            {"s": new_status, "t": changed_at, "id": order_id},
        )
        product_id, old_inventory = conn.execute(
            sa.text("SELECT product_id, inventory FROM products ORDER BY product_id LIMIT 1")
        ).one()
        conn.execute(
            sa.text("UPDATE products SET inventory = inventory + 7, updated_at = :t WHERE product_id = :id"),
            {"t": changed_at, "id": product_id},
        )
    engine.dispose()
    report = run_shop(
        url, day_interval(next_day), settings=warehouse, database=raw, pipelines_dir=tmp_path / "dlt"
    )
    assert report.rows == {"orders": 1, "products": 1}, report.rows
    dbt("snapshot", "--select", "snp_shop__orders", "snp_shop__products")

    def versions(snapshot: str, key: str, value: str, column: str) -> list[tuple]:
        rows = ch.query(
            f"SELECT {column}, dbt_valid_from, dbt_valid_to FROM `{schema}_snapshots`.`{snapshot}`"
            f" WHERE {key} = %(v)s ORDER BY dbt_valid_from",
            parameters={"v": value},
        ).result_rows
        return [(v, naive_utc(start), naive_utc(end)) for v, start, end in rows]

    [(status, _, closed_at), (status_now, valid_from, open_end)] = versions(
        "snp_shop__orders", "order_id", order_id, "status"
    )
    assert (status, closed_at) == (old_status, changed_at)
    assert (status_now, valid_from, open_end) == (new_status, changed_at, None)
    [(inventory, _, closed_at), (inventory_now, valid_from, open_end)] = versions(
        "snp_shop__products", "product_id", product_id, "inventory"
    )
    assert (inventory, closed_at) == (old_inventory, changed_at)
    assert (inventory_now, valid_from, open_end) == (old_inventory + 7, changed_at, None)
    for snapshot in ("snp_shop__orders", "snp_shop__products"):  # nothing else changed, nothing else closed
        closed = ch.command(
            f"SELECT countIf(dbt_valid_to IS NOT NULL) FROM `{schema}_snapshots`.`{snapshot}`"
        )
        assert int(closed) == 1, snapshot


@pytest.fixture
def alert_channels(monkeypatch, tmp_path):
    """The three alert channels as Airflow connections aimed at local HTTP and SMTP listeners."""
    from alert_listeners import SLACK_PATH, HttpListener, SmtpListener, channel_connections

    from orchard import settings

    http, smtp = HttpListener(), SmtpListener()
    for key, value in channel_connections(http, smtp).items():
        monkeypatch.setenv(key, json.dumps(value))
    monkeypatch.setattr(settings, "ALERT_LOG", tmp_path / "alerts.jsonl")
    monkeypatch.setattr(settings, "DBT_ARTIFACTS_DIR", tmp_path / "artifacts")
    yield {"slack": lambda: http.bodies(SLACK_PATH), "webhook": lambda: http.bodies("/hook"), "smtp": smtp}
    http.server.shutdown()
    smtp.server.shutdown()


def test_refused_postgresql_load_pages_with_the_table_and_its_first_bad_rows(
    postgres, warehouse, ch, tmp_path, alert_channels
):
    """An app migration turns products.inventory into REAL with fractions the warehouse's Int64 cannot hold:
    the load is refused, and the alert the provider notifiers deliver names the table and its first bad rows."""
    from types import SimpleNamespace

    import sqlalchemy as sa

    from orchard.alerting.channels import dispatch
    from orchard.alerting.message import task_alert
    from orchard.load.contracts import TypeChangeRefused

    url = postgres.create_database(f"shop_{uuid.uuid4().hex[:8]}")
    raw = f"raw_shop_refused_{uuid.uuid4().hex[:8]}"
    simulate(url, until=START, start=START, seed=SEED)
    run_shop(url, day_interval(START), settings=warehouse, database=raw, pipelines_dir=tmp_path / "dlt")
    next_day = START + timedelta(days=1)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE products ALTER COLUMN inventory TYPE real USING inventory + 0.5"))
        bad = conn.execute(
            sa.text(
                "UPDATE products SET updated_at = :t WHERE product_id IN "
                "(SELECT product_id FROM products ORDER BY product_id LIMIT 2) RETURNING product_id, inventory"
            ),
            {"t": datetime(next_day.year, next_day.month, next_day.day, 10)},
        ).all()
    bad = [tuple(row) for row in bad]
    engine.dispose()
    with pytest.raises(TypeChangeRefused) as err:
        run_shop(
            url, day_interval(next_day), settings=warehouse, database=raw, pipelines_dir=tmp_path / "dlt"
        )

    ti = SimpleNamespace(
        dag_id="orchard_nightly", run_id="r1", task_id="extract_load.load_shop", try_number=1
    )
    outcome = dispatch(task_alert({"ti": ti, "exception": err.value}))
    assert outcome == {"slack": "sent", "email": "sent", "webhook": "sent"}, outcome

    [hook] = alert_channels["webhook"]()
    failure = hook["load_failure"]
    assert (failure["source"], failure["where"]) == ("shop", f"{raw}.products")
    shown = {row["product_id"]: row["inventory"] for row in map(json.loads, failure["bad_rows"])}
    # the changed rows, and the one at the table's high-water mark that the load reads again
    assert set(bad) <= set(shown.items()) and len(shown) <= 5, shown
    assert all(value % 1 == 0.5 for value in shown.values()), shown
    [slack] = alert_channels["slack"]()
    [email] = alert_channels["smtp"].messages
    for text in (hook["text"], slack["text"], email):
        assert f"load of shop refused at {raw}.products" in text, text
        assert f"first bad rows ({len(shown)}):" in text
        for product_id, inventory in bad:
            assert f'"product_id": "{product_id}"' in text and f'"inventory": {inventory}' in text
        assert postgres.password not in text
