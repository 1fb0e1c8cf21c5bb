"""Schema-contract helpers of the loads: type families, lossy changes, duplicate keys, quarantine."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from orchard.load.contracts import (
    LOAD_ID,
    LOADED_AT,
    Quarantine,
    SourceDataError,
    TypeChangeRefused,
    add_load_columns,
    clickhouse_family,
    duplicate_key_mask,
    enforce_warehouse_types,
    split_invalid,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("ch_type", "family"),
    [
        ("Int64", "int"),
        ("Nullable(UInt32)", "int"),
        ("Nullable(Float64)", "float"),
        ("LowCardinality(Nullable(String))", "string"),
        ("DateTime64(6, 'UTC')", "timestamp"),
        ("Decimal(10, 2)", "decimal"),
        ("Date32", "date"),
        ("Array(String)", None),
    ],
)
def test_clickhouse_type_families(ch_type, family):
    assert clickhouse_family(ch_type) == family


def test_lossless_change_is_cast_to_the_warehouse_type():
    table = pa.table({"id": pa.array([1, 2], pa.int32()), "note": pa.array([7, 8])})
    out = enforce_warehouse_types(table, "t", "raw", {"id": "Int64", "note": "Nullable(String)"})
    assert out.schema.field("id").type == pa.int32()  # same family: ClickHouse widens it on insert
    assert out["note"].to_pylist() == ["7", "8"]


def test_lossy_change_names_table_column_and_both_types():
    table = pa.table({"inventory": pa.array(["lots"])})
    with pytest.raises(TypeChangeRefused) as err:
        enforce_warehouse_types(table, "products", "raw_shop", {"inventory": "Int64"})
    message = str(err.value)
    assert "raw_shop.products" in message and "`inventory`" in message
    assert "Int64" in message and "string" in message


def test_new_columns_pass_untouched():
    table = pa.table({"id": [1], "brand_new": ["x"]})
    assert enforce_warehouse_types(table, "t", "raw", {"id": "Int64"}).equals(table)


def test_duplicate_keys_keep_the_first_row():
    table = pa.table({"order_id": [3, 1, 3, 2, 1], "product_id": [1, 1, 1, 1, 2]})
    assert duplicate_key_mask(table, ["order_id", "product_id"]).to_pylist() == [
        False,
        False,
        True,
        False,
        False,
    ]
    assert duplicate_key_mask(table.slice(0, 2), ["order_id", "product_id"]) is None
    texts = pa.table({"k": ["a", "b", "a"]})
    assert duplicate_key_mask(texts, ["k"]).to_pylist() == [False, False, True]


def test_split_invalid_names_the_first_failing_check():
    table = pa.table({"a": [1, None, 3, None]})
    checks = [("null a", pa.array([False, True, False, True])), ("odd", pa.array([True, True, False, False]))]
    good, bad, reasons = split_invalid(table, checks)
    assert good["a"].to_pylist() == [3]
    assert bad.num_rows == 3
    assert reasons == ["odd", "null a", "null a"]


def test_quarantine_counts_and_strict_mode():
    quarantine = Quarantine()
    quarantine.add_rows(
        "orders", pa.table({"order_id": ["x"]}), ["non-numeric value: order_id"], "orders.csv"
    )
    assert quarantine.counts == {"orders": 1} and quarantine.reasons == {"non-numeric value": 1}
    assert json.loads(quarantine.to_arrow("L1")["raw_row"][0].as_py()) == {"order_id": "x"}
    with pytest.raises(SourceDataError, match="orders.csv: null primary key"):
        Quarantine(strict=True).add("orders", "null primary key: order_id", "{}", "orders.csv")


def test_load_columns_are_constant_and_typed():
    at = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
    out = add_load_columns(pa.table({"id": [1, 2]}), at, "123.4")
    assert out[LOADED_AT].type == pa.timestamp("us", tz="UTC")
    assert set(out[LOADED_AT].to_pylist()) == {at}
    assert out[LOAD_ID].to_pylist() == ["123.4", "123.4"]
