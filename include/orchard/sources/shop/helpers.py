"""Shop source helpers: reaching the app database, per-batch validation and skipping rows already loaded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from orchard.load.contracts import (
    Quarantine,
    SourceDataError,
    add_load_columns,
    current_load_id,
    enforce_warehouse_types,
    split_invalid,
)

CURSOR = "updated_at"
# Keys already in the warehouse for a table, as an Arrow table of key columns + "__ts" (cursor in us).
KeyLookup = Callable[[str, list[str], int, int], pa.Table | None]


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def sqlalchemy_url(url: str) -> str:
    """A `postgres://` URL (what an Airflow connection of type `postgres` gives) in the form SQLAlchemy reads:
    it knows the dialect only as `postgresql`."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql+psycopg2://{rest}" if sep and scheme == "postgres" else url


def open_engine(url: str) -> Any:
    """A SQLAlchemy engine that has answered; SourceDataError naming the database otherwise."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    url = sqlalchemy_url(url)
    parsed = make_url(url)
    fix = (
        "Check --db (or the shop_db Airflow connection, AIRFLOW_CONN_SHOP_DB / ORCHARD_SHOP_DB_URL), "
        "or create the sample database with `orchard sample shop --until DATE`."
    )
    # SQLite would silently create an empty file: a missing file is an unreachable database here
    is_file_db = parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:")
    if is_file_db and not Path(parsed.database).is_file():
        raise SourceDataError(f"Cannot reach the shop database {safe_url(url)}: file not found. {fix}")
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # driver errors differ per database; all mean "unreachable"
        cause = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise SourceDataError(f"Cannot reach the shop database {safe_url(url)}: {cause}. {fix}") from None
    return engine


def to_utc(table: pa.Table) -> pa.Table:
    """The shop stores UTC timestamps without a zone: label them UTC so ClickHouse gets DateTime64(6,'UTC')."""
    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is None:
            target = pa.timestamp("us", tz="UTC")
            table = table.set_column(index, field.with_type(target), table.column(index).cast(target))
    return table


def drop_already_loaded(
    table: pa.Table, table_name: str, key: list[str], lookup: KeyLookup | None
) -> tuple[pa.Table, int]:
    """Drop rows whose key and `updated_at` are already in the warehouse: reruns change nothing."""
    if lookup is None or not key or CURSOR not in table.column_names or table.num_rows == 0:
        return table, 0
    stamps = table[CURSOR].cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    low, high = pc.min(stamps).as_py(), pc.max(stamps).as_py()
    if low is None:
        return table, 0
    loaded = lookup(table_name, key, low, high)
    if loaded is None or loaded.num_rows == 0:
        return table, 0
    probe = table.append_column("__ts", stamps).append_column("__row", pa.array(range(table.num_rows)))
    loaded = loaded.cast(pa.schema([probe.schema.field(k) for k in key] + [pa.field("__ts", pa.int64())]))
    fresh = probe.join(loaded, keys=[*key, "__ts"], join_type="left anti")
    keep = pc.sort_indices(fresh["__row"])
    rows = fresh.take(keep)["__row"]
    return table.take(rows), table.num_rows - len(rows)


def process_batch(
    table: pa.Table,
    table_name: str,
    key: list[str],
    loaded_at: datetime,
    quarantine: Quarantine,
    existing: dict[str, str] | None,
    database: str,
    lookup: KeyLookup | None,
    skipped: dict[str, int],
) -> pa.Table | None:
    """Validate one batch from the database and add the load columns."""
    table = to_utc(table)
    checks = [(f"null primary key: {k}", pc.is_null(table[k])) for k in key if table[k].null_count]
    table, bad, reasons = split_invalid(table, checks)
    if bad is not None:
        quarantine.add_rows(table_name, bad, reasons, f"shop.{table_name}")
    table = enforce_warehouse_types(table, table_name, database, existing)
    table, already = drop_already_loaded(table, table_name, key, lookup)
    if already:
        skipped[table_name] = skipped.get(table_name, 0) + already
    if table.num_rows == 0:
        return None
    return add_load_columns(table, loaded_at, current_load_id())
