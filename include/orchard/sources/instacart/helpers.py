"""Reading the Instacart CSVs as validated Arrow batches: header checks, casts, quarantine."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from orchard.load.contracts import (
    FLOAT_RE,
    INT_RE,
    Quarantine,
    SourceDataError,
    add_load_columns,
    current_load_id,
    duplicate_key_mask,
    enforce_warehouse_types,
    split_invalid,
)

from .settings import BLOCK_SIZE, DROP_FOLDER_NAME, FILES, FileSpec

ARROW_TYPES = {"int": pa.int64(), "float": pa.float64(), "string": pa.string()}
PATTERNS = {"int": INT_RE, "float": FLOAT_RE}


class PacedFile(io.RawIOBase):
    """A file that lets Arrow's CSV reader read only a few blocks ahead of the batches consumed.

    Arrow's streaming reader otherwise reads the whole file ahead of a slower consumer, so memory
    would grow with the file. `consumed()` is called per batch; a read waits (at most `wait_s`,
    so a batch spanning several blocks can never deadlock) while `ahead` reads are outstanding.
    """

    def __init__(self, path: Path, ahead: int = 3, wait_s: float = 5.0) -> None:
        super().__init__()
        self._raw = path.open("rb")
        self._slots = threading.Semaphore(ahead)
        self._wait_s = wait_s

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self._slots.acquire(timeout=self._wait_s)
        return self._raw.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def consumed(self) -> None:
        self._slots.release()

    def close(self) -> None:
        self._raw.close()
        super().close()


def is_nullable(spec: FileSpec, column: str) -> bool:
    if column in spec.primary_key:
        return False
    return spec.columns[column] == "string" or column in spec.nullable


def read_header(path: Path) -> list[str]:
    """The header of a CSV file, or a SourceDataError saying what is wrong with the file."""
    if not path.is_file():
        raise SourceDataError(
            f"Missing file {path.name} in {path.parent}: the Instacart source needs "
            f"{', '.join(s.file for s in FILES)}. Generate them with `orchard sample instacart --out "
            f"{path.parent}`, or download the Kaggle 'Instacart Market Basket Analysis' files into that folder.",
            where=str(path),
        )
    with path.open(newline="", encoding="utf-8-sig") as handle:
        first = handle.readline()
        second = handle.readline() if first else ""
    if not first.strip():
        raise SourceDataError(
            f"Empty file {path}: expected a header line and rows; nothing was loaded.", where=str(path)
        )
    if not second.strip():
        raise SourceDataError(
            f"{path} has a header but no rows: refusing to replace the loaded table with nothing. "
            "Regenerate or re-download the file.",
            where=str(path),
            rows=[first.strip()],
        )
    return [name.strip() for name in next(csv.reader([first]))]


def check_header(spec: FileSpec, path: Path, header: list[str]) -> list[str]:
    """Refuse a header that lacks expected columns; return the extra (new) columns."""
    expected = list(spec.columns)
    missing = [c for c in expected if c not in header]
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if missing or duplicated:
        problem = f"missing {', '.join(missing)}" if missing else f"duplicated {', '.join(duplicated)}"
        raise SourceDataError(
            f"Header of {path} does not match table {spec.table}: {problem}. "
            f"Expected columns {','.join(expected)}; found {','.join(header)}. Nothing was loaded.",
            where=str(path),
            rows=[",".join(header)],
        )
    return [c for c in header if c not in spec.columns]


def check_drop_folder(folder: Path) -> None:
    """Refuse a daily drop folder holding a file the source does not know: a renamed or stray file would
    otherwise be skipped without a word (and a day's data with it)."""
    known = {spec.file for spec in FILES}
    extra = sorted(p.name for p in folder.iterdir() if p.name not in known and not p.name.startswith("."))
    if extra:
        raise SourceDataError(
            f"Unexpected file(s) {', '.join(extra)} in the daily drop folder {folder}: it may hold only "
            f"{', '.join(sorted(known))}. Rename a file to its expected name, or move the others out; "
            "nothing was loaded.",
            where=str(folder),
            rows=extra,
        )


def is_daily_drop(folder: Path) -> bool:
    """A folder named by a date (YYYY-MM-DD) is a daily drop of new rows; any other folder is a full extract."""
    return bool(DROP_FOLDER_NAME.match(folder.name))


def files_to_load(folder: Path, tables: list[str] | None = None) -> tuple[FileSpec, ...]:
    """The files a load of `folder` reads: every file of a full extract; in a daily drop, the day's new orders
    and prior lines (required) and whichever optional files it holds. Refuses a drop missing a required file."""
    wanted = tuple(s for s in FILES if tables is None or s.table in tables)
    if not is_daily_drop(folder):
        return wanted
    check_drop_folder(folder)
    missing = [s.file for s in wanted if s.required_in_drop and not (folder / s.file).is_file()]
    if missing:
        required = ", ".join(s.file for s in FILES if s.required_in_drop)
        raise SourceDataError(
            f"Missing file {', '.join(missing)} in {folder}: a daily drop holds the day's new rows of {required} "
            f"(the other files are optional). Write one with `orchard sample instacart --drop {folder.name}`, "
            "or add the file (a header line and no rows is not accepted: a day without orders has no drop "
            "folder); nothing was loaded.",
            where=str(folder),
        )
    return tuple(s for s in wanted if (folder / s.file).is_file())


def fingerprint(folder: Path, specs: tuple[FileSpec, ...]) -> list[list]:
    """Name, size and modification time of each file: what tells one full extract from the next."""
    return [[s.file, (st := (folder / s.file).stat()).st_size, st.st_mtime_ns] for s in specs]


def preflight(data_dir: Path, specs: tuple[FileSpec, ...] = FILES) -> dict[str, list[str]]:
    """Check every file before anything is loaded; returns the header of each table's file."""
    headers = {}
    for spec in specs:
        path = data_dir / spec.file
        header = read_header(path)
        check_header(spec, path, header)
        headers[spec.table] = header
    return headers


def _validate(
    batch: pa.RecordBatch, spec: FileSpec, extra: list[str], quarantine: Quarantine, source: str
) -> pa.Table | None:
    """Cast one batch of string columns to the declared types; failing rows go to quarantine."""
    table = pa.Table.from_batches([batch])
    casts: dict[str, pa.ChunkedArray] = {}
    checks: list[tuple[str, pa.Array]] = []
    for column, kind in spec.columns.items():
        values = table[column]
        if not is_nullable(spec, column) and values.null_count:
            what = "null primary key" if column in spec.primary_key else "null in required column"
            checks.append((f"{what}: {column}", pc.is_null(values)))
        if kind == "string":
            continue
        try:
            casts[column] = values.cast(ARROW_TYPES[kind])
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            bad = pc.and_(pc.is_valid(values), pc.invert(pc.match_substring_regex(values, PATTERNS[kind])))
            checks.append((f"non-numeric value: {column}", bad))
    good, bad, reasons = split_invalid(table, checks)
    if bad is not None:
        quarantine.add_rows(spec.table, bad, reasons, source)
        casts = {c: good[c].cast(ARROW_TYPES[k]) for c, k in spec.columns.items() if k != "string"}
    if good.num_rows == 0:
        return None
    fields, arrays = [], []
    for column, kind in spec.columns.items():
        fields.append(pa.field(column, ARROW_TYPES[kind], nullable=is_nullable(spec, column)))
        arrays.append(casts.get(column, good[column]))
    for column in extra:  # new columns in the source: loaded as text, reported as new
        fields.append(pa.field(column, pa.string()))
        arrays.append(good[column])
    typed = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    if (dup := duplicate_key_mask(typed, list(spec.primary_key))) is not None:
        key = ", ".join(spec.primary_key)
        typed, bad, reasons = split_invalid(typed, [(f"duplicate primary key in batch: ({key})", dup)])
        quarantine.add_rows(spec.table, bad, reasons, source)
    return typed


def read_batches(
    path: Path,
    spec: FileSpec,
    loaded_at: datetime,
    quarantine: Quarantine,
    existing: dict[str, str] | None = None,
    database: str = "",
    block_size: int = BLOCK_SIZE,
) -> Iterator[pa.Table]:
    """Stream one file as typed Arrow tables with `_loaded_at` and `_dlt_load_id`."""
    header = read_header(path)
    extra = check_header(spec, path, header)
    malformed: list[pacsv.InvalidRow] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        malformed.append(row)
        return "skip"

    def flush_malformed() -> None:
        while malformed:
            row = malformed.pop(0)
            reason = f"malformed row: expected {row.expected_columns} fields, got {row.actual_columns}"
            if (lines := row.text.count("\n") + 1) > 1:
                # an unbalanced quote runs to the next quote: those lines are this one row now
                reason = f"malformed row: unbalanced quote joins {lines} lines into one row"
            quarantine.add(spec.table, reason, row.text, path.name, row.number)

    load_id = current_load_id()
    with PacedFile(path) as handle:
        reader = pacsv.open_csv(
            handle,
            read_options=pacsv.ReadOptions(block_size=block_size, use_threads=True),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=False,
            ),
        )
        for batch in reader:
            handle.consumed()
            flush_malformed()
            if batch.num_rows == 0:
                continue
            typed = _validate(batch, spec, extra, quarantine, path.name)
            if typed is None:
                continue
            typed = enforce_warehouse_types(typed, spec.table, database, existing)
            yield add_load_columns(typed, loaded_at, load_id)
    flush_malformed()
