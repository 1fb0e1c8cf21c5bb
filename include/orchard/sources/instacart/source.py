"""Grocery orders in the Instacart (Kaggle) schema as a dlt source.

`instacart(data_dir)` is a dlt source with one resource per Kaggle CSV file. Files are streamed
as Arrow record batches (pyarrow's CSV reader, no per-row Python objects), cast to the declared
types, and every row that fails validation goes to the caller's Quarantine instead of the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import dlt
import pyarrow as pa
from dlt.extract.resource import DltResource

from orchard.load.contracts import LOAD_ID, LOADED_AT, Quarantine

from .helpers import files_to_load, fingerprint, is_daily_drop, is_nullable, preflight, read_batches
from .settings import BLOCK_SIZE, DATASET_NAME, FileSpec

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


def recording_extract(batches: Iterator[pa.Table], file: str, stamp: list) -> Iterator[pa.Table]:
    """The batches of one file of a full extract; once all are read, the file's stamp goes into the source state."""
    yield from batches
    dlt.current.source_state().setdefault("full_extracts", {})[file] = stamp


@dlt.source(name="instacart", max_table_nesting=0)
def instacart(
    data_dir: str = dlt.config.value,
    loaded_at: datetime | None = None,
    quarantine: Quarantine | None = None,
    existing_columns: dict[str, dict[str, str]] | None = None,
    database: str = DATASET_NAME,
    tables: list[str] | None = None,
    block_size: int = BLOCK_SIZE,
    skip_loaded_extract: bool = False,
) -> Iterable[DltResource]:
    """The Instacart tables from the CSV files in `data_dir`: a full extract, or a daily drop of new rows.

    Args:
        data_dir: a full extract (aisles.csv, departments.csv, products.csv, orders.csv,
            order_products__prior.csv and order_products__train.csv: each replaces its table), or a daily
            drop folder named YYYY-MM-DD (the day's new orders and lines, merged on their primary keys;
            aisles, departments and products optional, replacing their tables when present).
        loaded_at: the `_loaded_at` value of every row (default: now, UTC).
        quarantine: collects rows that fail validation; without one, a bad row raises.
        existing_columns: {table: {column: ClickHouse type}} of the warehouse tables, to refuse
            type changes that would lose data.
        database: the raw database the tables land in (named in error messages).
        tables: a subset of table names to load.
        skip_loaded_extract: load nothing when `data_dir` is the full extract this pipeline last loaded
            (same files, sizes and modification times) and its tables are there: a nightly without a drop.
    """
    folder = Path(data_dir)
    drop = is_daily_drop(folder)
    specs = files_to_load(folder, tables)
    preflight(folder, specs)
    loaded_at = loaded_at or datetime.now(UTC)
    quarantine = quarantine if quarantine is not None else Quarantine(strict=True)
    existing_columns = existing_columns or {}
    if not drop:
        # which full extract was loaded is kept in dlt's source state, committed with the load (a failed load
        # records nothing); a source may only read it, so each resource records its own file once it is read
        loaded = dlt.current.source_state().get("full_extracts", {})
        current = {file: [size, mtime] for file, size, mtime in fingerprint(folder, specs)}
        if skip_loaded_extract and all(
            loaded.get(s.file) == current[s.file] and s.table in existing_columns for s in specs
        ):
            return
    for spec in specs:
        disposition = spec.drop_disposition if drop else "replace"
        batches = read_batches(
            folder / spec.file,
            spec,
            loaded_at,
            quarantine,
            existing_columns.get(spec.table),
            database,
            block_size,
        )
        if not drop:
            batches = recording_extract(batches, spec.file, current[spec.file])
        yield dlt.resource(
            batches,
            name=spec.table,
            write_disposition=(
                {"disposition": "merge", "strategy": "delete-insert"}
                if disposition == "merge"
                else {"disposition": "replace", "strategy": "staging-optimized"}
            ),
            primary_key=list(spec.primary_key),
            columns=column_hints(spec),
        )
