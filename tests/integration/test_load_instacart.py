"""The Instacart pipeline against the embedded warehouse: exact loads, reruns and every bad file."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from load_fixtures import INSTACART, INSTACART_ROWS, closed_port, data_lines, write_instacart

from orchard.load.contracts import SourceDataError
from orchard.settings import ClickHouseSettings
from orchard.sources.instacart.pipeline import run_instacart
from orchard.warehouse.client import WarehouseUnreachable
from orchard_dev.instacart_sample.generator import write_sample

pytestmark = pytest.mark.integration

DLT_TABLES = {"_dlt_loads", "_dlt_pipeline_state", "_dlt_version"}
ORDERS_HEADER = "order_id,user_id,eval_set,order_number,order_dow,order_hour_of_day,days_since_prior_order\n"


@pytest.fixture
def db() -> str:
    """A database of its own per test, so tests never see each other's rows."""
    return f"raw_instacart_t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def load(warehouse, db, tmp_path):
    def run(folder, **kwargs):
        return run_instacart(
            folder, settings=warehouse, database=db, pipelines_dir=tmp_path / "dlt", **kwargs
        )

    return run


def counts(ch, db) -> dict[str, int]:
    rows = ch.query(f"SELECT name FROM system.tables WHERE database = '{db}'").result_rows
    return {name: ch.command(f"SELECT count() FROM `{db}`.`{name}`") for (name,) in rows}


def types_of(ch, db, table) -> dict[str, str]:
    query = f"SELECT name, type FROM system.columns WHERE database = '{db}' AND table = '{table}'"
    return dict(ch.query(query).result_rows)


def quarantined(ch, db) -> list[dict]:
    result = ch.query(f"SELECT table_name, reason, raw_row, load_id FROM `{db}`._quarantine ORDER BY reason")
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def test_loads_exact_tables_and_row_counts(load, ch, db, tmp_path):
    folder = write_instacart(tmp_path / "files")
    report = load(folder)
    found = counts(ch, db)
    assert set(found) == set(INSTACART_ROWS) | DLT_TABLES
    assert {t: found[t] for t in INSTACART_ROWS} == INSTACART_ROWS
    for spec_file, table in [("orders.csv", "orders"), ("order_products__prior.csv", "order_products_prior")]:
        assert found[table] == data_lines(folder / spec_file)
    assert report.rows == INSTACART_ROWS
    assert report.total_quarantined == 0
    # every row carries the load that wrote it, and dlt's load table records that load as done
    load_id = report.load_ids[0]
    assert ch.query(f"SELECT uniqExact(_dlt_load_id), any(_dlt_load_id) FROM `{db}`.orders").result_rows == [
        (1, load_id)
    ]
    assert ch.command(f"SELECT count() FROM `{db}`.orders WHERE _loaded_at < now() - 600") == 0
    assert ch.command(f"SELECT status FROM `{db}`._dlt_loads WHERE load_id = '{load_id}'") == 0
    assert types_of(ch, db, "orders")["_loaded_at"] == "DateTime64(6, 'UTC')"
    types = dict(
        ch.query(
            f"SELECT name, type FROM system.columns WHERE database='{db}' AND table='orders'"
        ).result_rows
    )
    assert types["order_id"] == "Int64"
    assert types["days_since_prior_order"] == "Nullable(Float64)"
    assert ch.command(f"SELECT countIf(days_since_prior_order IS NULL) FROM `{db}`.orders") == 2
    assert "Loaded instacart" in report.format() and "order_products_prior" in report.format()


def test_rerun_is_idempotent(load, ch, db, tmp_path):
    folder = write_instacart(tmp_path / "files")
    load(folder)
    first = counts(ch, db)
    report = load(folder)
    again = counts(ch, db)
    assert {t: again[t] for t in INSTACART_ROWS} == INSTACART_ROWS
    assert again["_dlt_loads"] == first["_dlt_loads"] + 1
    assert ch.command(f"SELECT any(_dlt_load_id) FROM `{db}`.products") == report.load_ids[0]


def test_generated_sample_loads_with_exact_counts(load, ch, db, tmp_path):
    folder = tmp_path / "sample"
    write_sample(folder, 0.0005, seed=7)
    report = load(folder)
    expected = {
        "aisles": data_lines(folder / "aisles.csv"),
        "departments": data_lines(folder / "departments.csv"),
        "products": data_lines(folder / "products.csv"),
        "orders": data_lines(folder / "orders.csv"),
        "order_products_prior": data_lines(folder / "order_products__prior.csv"),
        "order_products_train": data_lines(folder / "order_products__train.csv"),
    }
    found = counts(ch, db)
    assert {t: found[t] for t in expected} == expected
    assert report.rows == expected and report.total_quarantined == 0


# --- bad input: refused before anything is written -------------------------------------------------


@pytest.fixture
def loaded(load, ch, db, tmp_path):
    """A database with a good load in it, to show that a refused load loses nothing."""
    load(write_instacart(tmp_path / "good"))
    return counts(ch, db)


def test_missing_file_is_refused(load, ch, db, loaded, tmp_path):
    folder = write_instacart(tmp_path / "files")
    (folder / "orders.csv").unlink()
    with pytest.raises(SourceDataError, match=r"Missing file orders\.csv") as err:
        load(folder)
    assert "orchard sample instacart" in str(err.value) and str(folder) in str(err.value)
    assert counts(ch, db) == loaded


def test_empty_file_is_refused(load, ch, db, loaded, tmp_path):
    folder = write_instacart(tmp_path / "files", orders="")
    with pytest.raises(SourceDataError, match=r"Empty file .*orders\.csv"):
        load(folder)
    assert counts(ch, db) == loaded


def test_header_only_file_is_refused(load, ch, db, loaded, tmp_path):
    folder = write_instacart(tmp_path / "files", orders=ORDERS_HEADER)
    with pytest.raises(SourceDataError, match=r"orders\.csv has a header but no rows"):
        load(folder)
    assert counts(ch, db) == loaded


@pytest.mark.reliability(
    fault="a source file whose header lacks a column",
    behaviour="the load is refused naming the file, table and missing column; nothing loaded changes",
)
def test_header_mismatch_is_refused(load, ch, db, loaded, tmp_path):
    renamed = ORDERS_HEADER.replace("order_dow", "weekday") + "1,1,prior,1,2,8,\n"
    folder = write_instacart(tmp_path / "files", orders=renamed)
    with pytest.raises(
        SourceDataError, match=r"Header of .*orders\.csv does not match table orders: missing order_dow"
    ) as refused:
        load(folder)
    assert counts(ch, db) == loaded
    # what an alert shows on-call (orchard.alerting.load_failures): the file and its bad line
    assert refused.value.where == str(folder / "orders.csv")
    assert refused.value.rows == [ORDERS_HEADER.replace("order_dow", "weekday").strip()]


@pytest.mark.reliability(
    fault="the warehouse is down when a load starts",
    behaviour="the load fails naming host, port and `orchard warehouse start`; nothing loaded changes",
)
def test_unreachable_warehouse_names_host_port_and_fix(warehouse, ch, db, loaded, tmp_path):
    port = closed_port()
    nowhere = ClickHouseSettings(host="127.0.0.1", port=port)
    with pytest.raises(WarehouseUnreachable) as err:
        run_instacart(
            write_instacart(tmp_path / "files"), settings=nowhere, database=db, pipelines_dir=tmp_path / "x"
        )
    message = str(err.value)
    assert f"127.0.0.1:{port}" in message
    assert "orchard warehouse start" in message
    assert counts(ch, db) == loaded


# --- bad rows: quarantined, counted, the rest loaded --------------------------------------------------


def test_malformed_rows_are_quarantined(load, ch, db, loaded, tmp_path):
    text = ORDERS_HEADER + "1,1,prior,1,2,8,\n2,1,prior,2,3\n3,1,train,3,3,12,21.0,extra\n4,2,test,1,5,9,\n"
    folder = write_instacart(tmp_path / "files", orders=text)
    report = load(folder)
    assert ch.query(f"SELECT order_id FROM `{db}`.orders ORDER BY order_id").result_rows == [(1,), (4,)]
    rows = quarantined(ch, db)
    assert [r["reason"] for r in rows] == [
        "malformed row: expected 7 fields, got 5",
        "malformed row: expected 7 fields, got 8",
    ]
    assert rows[0]["raw_row"] == "2,1,prior,2,3" and rows[0]["table_name"] == "orders"
    assert rows[0]["load_id"] == report.load_ids[0]
    assert report.quarantined == {"orders": 2}
    assert report.rows["orders"] + report.quarantined["orders"] == data_lines(folder / "orders.csv")
    assert "quarantined rows are in" in report.format()


def test_non_numeric_id_is_quarantined(load, ch, db, loaded, tmp_path):
    text = "order_id,product_id,add_to_cart_order,reordered\n1,1,1,0\nabc,2,2,0\n2,1,1,1\n"
    report = load(write_instacart(tmp_path / "files", order_products__prior=text))
    assert ch.command(f"SELECT count() FROM `{db}`.order_products_prior") == 2
    (row,) = quarantined(ch, db)
    assert row["reason"] == "non-numeric value: order_id"
    assert json.loads(row["raw_row"])["order_id"] == "abc"
    assert report.quarantined == {"order_products_prior": 1}
    assert report.quarantine_reasons == {"non-numeric value": 1}


def test_null_primary_key_is_quarantined(load, ch, db, loaded, tmp_path):
    text = ORDERS_HEADER + "1,1,prior,1,2,8,\n,1,prior,2,3,7,15.0\n4,2,test,1,5,9,\n"
    report = load(write_instacart(tmp_path / "files", orders=text))
    assert ch.command(f"SELECT count() FROM `{db}`.orders") == 2
    (row,) = quarantined(ch, db)
    assert row["reason"] == "null primary key: order_id"
    assert report.quarantined == {"orders": 1}


def test_duplicate_primary_keys_in_one_batch_are_quarantined(load, ch, db, loaded, tmp_path):
    text = "order_id,product_id,add_to_cart_order,reordered\n1,1,1,0\n1,2,2,0\n1,1,3,1\n2,1,1,1\n"
    report = load(write_instacart(tmp_path / "files", order_products__prior=text))
    assert ch.query(
        f"SELECT count(), uniqExact(order_id, product_id) FROM `{db}`.order_products_prior"
    ).result_rows == [(3, 3)]
    # the first row of a key is kept, the repeat is quarantined
    assert (
        ch.command(
            f"SELECT add_to_cart_order FROM `{db}`.order_products_prior WHERE order_id=1 AND product_id=1"
        )
        == 1
    )
    (row,) = quarantined(ch, db)
    assert row["reason"] == "duplicate primary key in batch: (order_id, product_id)"
    assert json.loads(row["raw_row"])["add_to_cart_order"] == 3
    assert report.quarantined == {"order_products_prior": 1}


def test_new_column_is_added_and_reported(load, ch, db, loaded, tmp_path):
    text = (
        "aisle_id,aisle,shelf\n1,prepared soups salads,A1\n2,specialty cheeses,\n3,energy granola bars,C3\n"
    )
    report = load(write_instacart(tmp_path / "files", aisles=text))
    assert report.new_columns == {"aisles": ["shelf"]}
    assert "shelf" in report.format()
    shelves = ch.query(f"SELECT shelf FROM `{db}`.aisles ORDER BY aisle_id").result_rows
    assert shelves == [("A1",), (None,), ("C3",)]
    assert ch.command(f"SELECT count() FROM `{db}`.aisles") == 3


def test_cli_loads_and_prints_the_report(warehouse, ch, db, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from orchard.cli import app

    monkeypatch.setenv("ORCHARD_DLT_DIR", str(tmp_path / "dlt"))
    folder = write_instacart(tmp_path / "files")
    result = CliRunner().invoke(app, ["load", "instacart", "--dir", str(folder), "--database", db])
    assert result.exit_code == 0, result.output
    assert f"Loaded instacart into {db}" in result.output
    assert counts(ch, db)["orders"] == INSTACART_ROWS["orders"]
    assert [p.name for p in (tmp_path / "dlt").glob(f"*/orchard_{db}")] == [f"orchard_{db}"]
    (folder / "aisles.csv").unlink()
    result = CliRunner().invoke(app, ["load", "instacart", "--dir", str(folder), "--database", db])
    assert result.exit_code == 1
    assert "Missing file aisles.csv" in result.output


def day(n: int) -> tuple[datetime, datetime]:
    return datetime(2026, 11, 20 + n, tzinfo=UTC), datetime(2026, 11, 21 + n, tzinfo=UTC)


# A daily drop's new rows: orders 5 (user 2's second) and 6 (a new user) with three lines, and order 1's line
# (1, 2) again, corrected: merged on its key, so it is updated, not doubled.
DROP = {
    "orders.csv": ORDERS_HEADER + "5,2,prior,2,1,10,6.0\n6,3,prior,1,4,16,\n",
    "order_products__prior.csv": (
        "order_id,product_id,add_to_cart_order,reordered\n5,3,1,0\n6,1,1,0\n6,2,2,0\n1,2,2,1\n"
    ),
    "aisles.csv": "aisle_id,aisle\n1,prepared soups salads\n",  # optional: replaces the table
}


def test_daily_drops_merge_new_rows_once_and_a_night_without_one_loads_nothing(load, ch, db, tmp_path):
    base = write_instacart(tmp_path / "instacart")
    # the first night: no drop folder and no tables yet, so the folder's full extract is loaded
    assert load(base, interval=day(0)).rows == INSTACART_ROWS
    write_instacart(base / "2026-11-21", **{name.removesuffix(".csv"): text for name, text in DROP.items()})
    for name in set(INSTACART) - set(DROP):
        (base / "2026-11-21" / name).unlink()
    report = load(base, interval=day(1))
    assert report.rows == {"orders": 2, "order_products_prior": 4, "aisles": 1}
    assert report.interval == ("2026-11-21T00:00:00+00:00", "2026-11-22T00:00:00+00:00")
    merged = {**INSTACART_ROWS, "orders": 6, "order_products_prior": 6, "aisles": 1}
    assert {t: counts(ch, db)[t] for t in INSTACART_ROWS} == merged
    line = f"SELECT reordered FROM `{db}`.order_products_prior WHERE order_id = 1 AND product_id = 2"
    assert ch.command(line) == 1
    # the same drop again, by its folder (a retried night, or by hand): merged on the keys, nothing doubles
    assert load(base / "2026-11-21").rows == report.rows
    assert {t: counts(ch, db)[t] for t in INSTACART_ROWS} == merged
    # a night without a drop: the full extract is the one already loaded, so nothing is, and the drop stays
    before = counts(ch, db)
    assert load(base, interval=day(2)).rows == {}
    assert {t: counts(ch, db)[t] for t in INSTACART_ROWS} == {t: before[t] for t in INSTACART_ROWS}
    # a new full extract (a full refresh) replaces every table, the drops' rows with them
    (base / "orders.csv").write_text(INSTACART["orders.csv"] + "7,4,prior,1,1,1,\n")
    assert load(base, interval=day(2)).rows == {**INSTACART_ROWS, "orders": 5}
    assert {t: counts(ch, db)[t] for t in INSTACART_ROWS} == {**INSTACART_ROWS, "orders": 5}


def test_unbalanced_quote_is_quarantined_with_the_lines_it_joins(load, ch, db, tmp_path):
    # the quote opened on line 1 closes on line 3, leaving one 5-field "row" in a 4-column file
    text = (
        'product_id,product_name,aisle_id,department_id\n1,"Cookies,1\n2,Salt,2,2\n3,Tea",3,1,9\n4,Soap,1,1\n'
    )
    report = load(write_instacart(tmp_path / "files", products=text))
    assert ch.query(f"SELECT product_id FROM `{db}`.products").result_rows == [(4,)]
    (row,) = quarantined(ch, db)
    assert row["reason"] == "malformed row: unbalanced quote joins 3 lines into one row"
    assert row["raw_row"].startswith('1,"Cookies,1\n2,Salt,2,2\n3,Tea"')
    assert report.quarantined == {"products": 1}
