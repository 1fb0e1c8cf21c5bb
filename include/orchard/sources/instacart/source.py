"""Grocery orders in the Instacart (Kaggle) schema as a dlt source.

`instacart(data_dir)` is a dlt source with one resource per Kaggle CSV file. Files are streamed
as Arrow record batches (pyarrow's CSV reader, no per-row Python objects), cast to the declared
types, and every row that fails validation goes to the caller's Quarantine instead of the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import dlt
from dlt.extract.resource import DltResource

from orchard.load.contracts import LOAD_ID, LOADED_AT, Quarantine

from .helpers import is_nullable, preflight, read_batches
from .settings import BLOCK_SIZE, DATASET_NAME, FILES, FileSpec

DLT_TYPES = {"int": "bigint", "float": "double", "string": "text"}


def column_hints(spec: FileSpec) -> list[dict]:
    hints = [
        {
            "name": name,
            "data_type": DLT_TYPES[kind],
            "nullable": is_nullable(spec, name),
            "primary_key": name in spec.primary_key,
        }
        for name, kind in spec.columns.items()
    ]
    hints.append(
        {"name": LOADED_AT, "data_type": "timestamp", "timezone": True, "precision": 6, "nullable": False}
    )
    hints.append({"name": LOAD_ID, "data_type": "text", "nullable": False})
    return hints


@dlt.source(name="instacart", max_table_nesting=0)
def instacart(
    data_dir: str = dlt.config.value,
    loaded_at: datetime | None = None,
    quarantine: Quarantine | None = None,
    existing_columns: dict[str, dict[str, str]] | None = None,
    database: str = DATASET_NAME,
    tables: list[str] | None = None,
    block_size: int = BLOCK_SIZE,
) -> Iterable[DltResource]:
    """The six Instacart tables from the CSV files in `data_dir`.

    Args:
        data_dir: folder with aisles.csv, departments.csv, products.csv, orders.csv,
            order_products__prior.csv and order_products__train.csv.
        loaded_at: the `_loaded_at` value of every row (default: now, UTC).
        quarantine: collects rows that fail validation; without one, a bad row raises.
        existing_columns: {table: {column: ClickHouse type}} of the warehouse tables, to refuse
            type changes that would lose data.
        database: the raw database the tables land in (named in error messages).
        tables: a subset of table names to load.
    """
    folder = Path(data_dir)
    specs = tuple(s for s in FILES if tables is None or s.table in tables)
    preflight(folder, specs)
    loaded_at = loaded_at or datetime.now(UTC)
    quarantine = quarantine if quarantine is not None else Quarantine(strict=True)
    existing_columns = existing_columns or {}
    for spec in specs:
        batches = read_batches(
            folder / spec.file,
            spec,
            loaded_at,
            quarantine,
            existing_columns.get(spec.table),
            database,
            block_size,
        )
        yield dlt.resource(
            batches,
            name=spec.table,
            write_disposition={"disposition": spec.write_disposition, "strategy": "staging-optimized"},
            primary_key=list(spec.primary_key),
            columns=column_hints(spec),
        )
