"""Schema contracts shared by Orchard's dlt sources: load columns, type-change refusal, quarantine.

Everything works on Arrow batches, vectorised: Python touches only the rows that fail.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

LOADED_AT = "_loaded_at"
LOAD_ID = "_dlt_load_id"
QUARANTINE_TABLE = "_quarantine"
LOADED_AT_TYPE = pa.timestamp("us", tz="UTC")

INT_RE = r"^\s*[+-]?\d+\s*$"
FLOAT_RE = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$|^\s*(?i:nan|[+-]?inf)\s*$"


class LoadRefused(ValueError):
    """Bad input refused before anything was written. `where` names the file or table and `rows` holds its
    first bad rows (JSON text), when the refusal knows them: what an alert shows on-call."""

    def __init__(self, message: str, *, where: str = "", rows: list[str] | None = None):
        super().__init__(message)
        self.where = where
        self.rows = list(rows or [])


class TypeChangeRefused(LoadRefused):
    """The source sends a column in a type the warehouse column cannot hold without losing data."""


class SourceDataError(LoadRefused):
    """The input cannot be loaded as a whole (missing/empty file, wrong header...): nothing was loaded."""


def current_load_id() -> str:
    """The id of the load package being extracted (dlt adds `_dlt_load_id` only to dict rows)."""
    import dlt

    return dlt.current.load_package_state()["load_id"]


def add_load_columns(table: pa.Table, loaded_at: datetime, load_id: str) -> pa.Table:
    """Append `_loaded_at` and `_dlt_load_id` as constant columns without per-row Python work."""
    n = table.num_rows
    stamp = np.full(n, np.datetime64(loaded_at.replace(tzinfo=None), "us"))
    loaded = pa.array(stamp, type=pa.timestamp("us")).cast(LOADED_AT_TYPE)
    ids = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([load_id]))
    for name in (LOADED_AT, LOAD_ID):
        if name in table.column_names:
            table = table.drop_columns([name])
    table = table.append_column(pa.field(LOADED_AT, LOADED_AT_TYPE, nullable=False), loaded)
    # dictionary-encoded: parquet stores the one value once instead of once per row
    return table.append_column(pa.field(LOAD_ID, ids.type, nullable=False), ids)


# --- type changes ---------------------------------------------------------------------------------

_CH_FAMILY = [
    (r"^U?Int(8|16|32|64|128|256)$", "int"),
    (r"^Float(32|64)$", "float"),
    (r"^Decimal", "decimal"),
    (r"^Bool(ean)?$", "bool"),
    (r"^(String|FixedString|UUID|Enum)", "string"),
    (r"^DateTime", "timestamp"),
    (r"^Date(32)?$", "date"),
]
# source family -> warehouse families it fits into without loss
_LOSSLESS = {
    "bool": {"bool", "int", "float", "decimal", "string"},
    "int": {"int", "float", "decimal", "string"},
    "float": {"float", "string"},
    "decimal": {"decimal", "string"},
    "string": {"string"},
    "timestamp": {"timestamp", "string"},
    "date": {"date", "timestamp", "string"},
}


def clickhouse_family(ch_type: str) -> str | None:
    inner = re.sub(r"^(LowCardinality|Nullable)\((.*)\)$", r"\2", ch_type.strip())
    inner = re.sub(r"^(LowCardinality|Nullable)\((.*)\)$", r"\2", inner)
    for pattern, family in _CH_FAMILY:
        if re.match(pattern, inner):
            return family
    return None


def arrow_family(arrow_type: pa.DataType) -> str | None:
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    checks = [
        (pa.types.is_boolean, "bool"),
        (pa.types.is_integer, "int"),
        (pa.types.is_floating, "float"),
        (pa.types.is_decimal, "decimal"),
        (lambda t: pa.types.is_string(t) or pa.types.is_large_string(t), "string"),
        (pa.types.is_timestamp, "timestamp"),
        (pa.types.is_date, "date"),
    ]
    for check, family in checks:
        if check(arrow_type):
            return family
    return None


def _arrow_type_for(ch_type: str, family: str) -> pa.DataType | None:
    """The Arrow type to cast a compatible source column to, so dlt sees the warehouse's type."""
    return {
        "int": pa.int64(),
        "float": pa.float64(),
        "string": pa.string(),
        "bool": pa.bool_(),
    }.get(family)


BAD_ROWS = 5  # how many bad rows a refusal keeps for its alert


def _unfit_rows(table: pa.Table, column: str, target: pa.DataType | None) -> list[str]:
    """The first rows whose `column` the warehouse type cannot hold (a safe cast fails), as JSON text; if
    none fails (or there is no Arrow type to test), the first rows with a value, which carry the new type.
    Runs only when a load is being refused."""
    values = table.column(column)
    unfit: list[int] = []
    present: list[int] = []
    for index, value in enumerate(values):
        if not value.is_valid:
            continue
        if len(present) < BAD_ROWS:
            present.append(index)
        if target is None:
            if len(present) == BAD_ROWS:
                break
            continue
        try:
            pa.array([value.as_py()], type=values.type).cast(target, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            unfit.append(index)
            if len(unfit) == BAD_ROWS:
                break
    shown = table.drop_columns([c for c in (LOADED_AT, LOAD_ID) if c in table.column_names])
    return [
        json.dumps(shown.slice(i, 1).to_pylist()[0], default=str, ensure_ascii=False)
        for i in unfit or present
    ]


def enforce_warehouse_types(
    table: pa.Table, table_name: str, database: str, existing: dict[str, str] | None
) -> pa.Table:
    """Refuse a lossy type change against the warehouse columns; align lossless ones by casting.

    `existing` maps column name -> ClickHouse type of the warehouse table (None: new table).
    """
    if not existing:
        return table
    for index, field_ in enumerate(table.schema):
        ch_type = existing.get(field_.name)
        if ch_type is None or field_.name in (LOADED_AT, LOAD_ID):
            continue  # a new column: dlt adds it, the load report names it
        want, have = clickhouse_family(ch_type), arrow_family(field_.type)
        if want is None or have is None or want == have:
            continue
        if want not in _LOSSLESS.get(have, set()):
            raise TypeChangeRefused(
                f"Type change refused: column `{field_.name}` of table {database}.{table_name} is "
                f"{ch_type} in the warehouse, but the source now sends {field_.type} ({have}); loading it "
                f"would lose data. Fix the source, or migrate the column yourself (e.g. ALTER TABLE "
                f"{database}.{table_name} MODIFY COLUMN `{field_.name}` ...) and run the load again.",
                where=f"{database}.{table_name}",
                rows=_unfit_rows(table, field_.name, _arrow_type_for(ch_type, want)),
            )
        target = _arrow_type_for(ch_type, want)
        if target is not None and field_.type != target:
            table = table.set_column(index, field_.with_type(target), table.column(index).cast(target))
    return table


# --- quarantine -----------------------------------------------------------------------------------

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("table_name", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw_row", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("line", pa.int64()),
    ]
)


@dataclass
class Quarantine:
    """Rows that failed validation, per table, waiting to be written to `<raw db>._quarantine`."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    strict: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, table_name: str, reason: str, raw_row: str, source: str, line: int | None = None) -> None:
        if self.strict:
            raise SourceDataError(f"{source}: {reason}: {raw_row}", where=source, rows=[raw_row])
        with self._lock:
            self.rows.append(
                {
                    "table_name": table_name,
                    "reason": reason,
                    "raw_row": raw_row,
                    "source": source,
                    "line": line,
                }
            )
            self.counts[table_name] = self.counts.get(table_name, 0) + 1
            kind = reason.split(":")[0]
            self.reasons[kind] = self.reasons.get(kind, 0) + 1

    def add_rows(self, table_name: str, rows: pa.Table, reasons: list[str], source: str) -> None:
        for row, reason in zip(rows.to_pylist(), reasons, strict=True):
            self.add(table_name, reason, json.dumps(row, default=str, ensure_ascii=False), source)

    @property
    def total(self) -> int:
        return len(self.rows)

    def to_arrow(self, load_id: str) -> pa.Table:
        table = pa.Table.from_pylist(self.rows, schema=QUARANTINE_SCHEMA)
        table = table.append_column(
            pa.field("load_id", pa.string(), nullable=False), pa.array([load_id] * len(table))
        )
        return table


def split_invalid(
    table: pa.Table, checks: list[tuple[str, pa.Array]]
) -> tuple[pa.Table, pa.Table | None, list[str]]:
    """Split `table` by boolean masks (True = row fails). The first failing check names the reason."""
    bad_any = None
    for _, mask in checks:
        mask = pc.fill_null(mask, False)
        bad_any = mask if bad_any is None else pc.or_(bad_any, mask)
    if bad_any is None or not pc.any(bad_any).as_py():
        return table, None, []
    reasons = np.full(table.num_rows, "", dtype=object)
    for reason, mask in checks:
        flags = pc.fill_null(mask, False).to_numpy(zero_copy_only=False)
        reasons[(reasons == "") & flags] = reason
    bad_np = reasons != ""
    good = table.filter(pc.invert(bad_any))
    bad = table.filter(bad_any)
    return good, bad, list(reasons[bad_np])


def _int_key(table: pa.Table, key: list[str]) -> np.ndarray | None:
    """One int64 per row that is equal exactly when the key is (one or two non-negative int columns)."""
    if not all(pa.types.is_integer(table[k].type) for k in key) or len(key) > 2:
        return None
    columns = [table[k].to_numpy().astype(np.int64, copy=False) for k in key]
    if len(columns) == 1:
        return columns[0]
    a, b = columns
    if a.min() < 0 or b.min() < 0 or a.max() >= (1 << 31) or b.max() >= (1 << 31):
        return None
    return (a << 31) | b


def duplicate_key_mask(table: pa.Table, key: list[str]) -> pa.Array | None:
    """True for every row whose primary key already appeared earlier in the same batch, else None."""
    if table.num_rows < 2 or not key:
        return None
    ints = _int_key(table, key)
    if ints is not None:
        # sorting int64 is several times faster than hashing here; files sorted by key skip even that
        if np.all(ints[1:] > ints[:-1]):
            return None
        ordered = np.sort(ints, kind="stable")  # timsort: fast on the nearly sorted keys files have
        if not np.any(ordered[1:] == ordered[:-1]):
            return None
    elif table.select(key).group_by(key, use_threads=False).aggregate([]).num_rows == table.num_rows:
        return None
    # slow path, only when there are duplicates: keep the first row of each key
    indexed = table.select(key).append_column("__i", pa.array(np.arange(table.num_rows)))
    first = indexed.group_by(key, use_threads=False).aggregate([("__i", "min")])["__i_min"].to_numpy()
    dup = np.ones(table.num_rows, dtype=bool)
    dup[first] = False
    return pa.array(dup)
