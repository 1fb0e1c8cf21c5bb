"""An online shop's application database as a dlt source.

`shop(credentials)` wraps dlt's `sql_database` (Arrow backend) over the app database (SQLite by
default, any SQLAlchemy URL): an incremental cursor on `updated_at` per table, bounded by a data
interval when one is given, `merge` on the primary key for mutable tables and `append` with a
dedup key (ReplacingMergeTree on event_id, versioned by updated_at) for `events`. Rows whose key
and `updated_at` are already in the warehouse are skipped, so a rerun changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import dlt
from dlt.extract.resource import DltResource

from orchard.load.contracts import Quarantine

from .helpers import CURSOR, KeyLookup, open_engine, process_batch
from .settings import APPEND_TABLES, CHUNK_SIZE, DATASET_NAME, SKIP_TABLES


@dlt.source(name="shop", max_table_nesting=0)
def shop(
    credentials: str = dlt.secrets.value,
    interval: tuple[datetime, datetime] | None = None,
    loaded_at: datetime | None = None,
    quarantine: Quarantine | None = None,
    existing_columns: dict[str, dict[str, str]] | None = None,
    database: str = DATASET_NAME,
    loaded_keys: KeyLookup | None = None,
    high_water: dict[str, datetime] | None = None,
    skipped: dict[str, int] | None = None,
    tables: list[str] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterable[DltResource]:
    """The shop tables, incremental on `updated_at`.

    Args:
        credentials: SQLAlchemy URL of the shop database.
        interval: (start, end) of the data interval: rows with start <= updated_at < end, where
            start is lowered to the table's high-water mark in the warehouse (every row before end on
            a table's first load). Without one, dlt's incremental state picks up where it stopped.
        loaded_at: the `_loaded_at` of every row (default: now, UTC).
        quarantine: collects rows failing validation (null primary key); without one they raise.
        existing_columns: {table: {column: ClickHouse type}} of the warehouse, to refuse lossy type changes.
        database: the raw database the tables land in (named in error messages).
        loaded_keys: looks up keys + updated_at already in the warehouse, to skip unchanged rows.
        high_water: {table: the latest updated_at already in the warehouse}.
        skipped: receives the number of rows skipped per table.
        tables: a subset of tables to load.
    """
    import sqlalchemy as sa
    from dlt.sources.sql_database import sql_database

    engine = open_engine(credentials)
    inspector = sa.inspect(engine)
    names = sorted(t for t in inspector.get_table_names() if t not in SKIP_TABLES)
    if tables is not None:
        missing = sorted(set(tables) - set(names))
        if missing:
            raise ValueError(
                f"Tables {', '.join(missing)} are not in the shop database; it has {', '.join(names)}."
            )
        names = [t for t in names if t in tables]
    loaded_at = loaded_at or datetime.now(UTC)
    quarantine = quarantine if quarantine is not None else Quarantine(strict=True)
    existing_columns = existing_columns or {}
    skipped = skipped if skipped is not None else {}
    source = sql_database(
        engine, table_names=names, backend="pyarrow", chunk_size=chunk_size, reflection_level="full"
    )
    for name in names:
        resource = source.resources[name]
        key = inspector.get_pk_constraint(name).get("constrained_columns") or []
        reflected = inspector.get_columns(name)
        columns = {c["name"] for c in reflected}
        hints: dict = {
            "primary_key": key or None,
            "columns": [
                # SQLite lets a TEXT primary key be NULL; ClickHouse keys can't be: such rows are quarantined
                *({"name": k, "nullable": False} for k in key),
                # the shop keeps UTC without a zone: say so, so ClickHouse stores DateTime64(6, 'UTC')
                *(
                    {"name": c["name"], "data_type": "timestamp", "timezone": True, "precision": 6}
                    for c in reflected
                    if isinstance(c["type"], sa.DateTime)
                ),
            ],
        }
        if CURSOR in columns:
            start, end = interval if interval else (None, None)
            if end is not None:
                # Start at the earlier of the interval start and what the warehouse already has: a
                # table's first load takes its history (or the first run's orders would point at
                # products created before its interval), and rows that reached the app after the
                # previous run, stamped before this interval, are not skipped for good.
                mark = (high_water or {}).get(name)
                start = datetime(1970, 1, 1, tzinfo=end.tzinfo) if mark is None else min(start, mark)
            hints["incremental"] = dlt.sources.incremental(
                CURSOR, initial_value=start, end_value=end, range_start="closed", range_end="open"
            )
        if name in APPEND_TABLES or not key:
            hints["write_disposition"] = "append"
            if key and CURSOR in columns:
                # dedup key: ReplacingMergeTree(updated_at) ordered by the key collapses any repeat
                hints["additional_table_hints"] = {"x-table-engine-type": "replacing_merge_tree"}
                hints["columns"].append({"name": CURSOR, "dedup_sort": "desc"})
        else:
            hints["write_disposition"] = {"disposition": "merge", "strategy": "delete-insert"}
        resource.apply_hints(**hints)
        settings = {
            "table_name": name,
            "key": key,
            "loaded_at": loaded_at,
            "quarantine": quarantine,
            "existing": existing_columns.get(name),
            "database": database,
            "lookup": loaded_keys,
            "skipped": skipped,
        }
        # dlt passes (item, meta) to map steps: bind our arguments by keyword
        resource.add_map(lambda item, meta=None, kw=settings: process_batch(item, **kw))
        yield resource
