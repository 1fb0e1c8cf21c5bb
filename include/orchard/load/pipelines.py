"""Run one source's dlt pipeline into ClickHouse and report: the part every source shares."""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dlt
from dlt.common.runtime.collector import NULL_COLLECTOR
from dlt.pipeline.exceptions import PipelineStepFailed

from orchard.load.contracts import (
    LOAD_ID,
    LOADED_AT,
    QUARANTINE_TABLE,
    Quarantine,
    SourceDataError,
    TypeChangeRefused,
)
from orchard.load.destination import http_destination
from orchard.load.report import LoadError, LoadReport
from orchard.settings import STATE_DIR, ClickHouseSettings
from orchard.warehouse.client import WarehouseUnreachable, get_client, unreachable_message


def pipelines_dir_default() -> Path:
    """Where dlt keeps its working folders: $ORCHARD_DLT_DIR, else <state dir>/dlt (read per call)."""
    return Path(os.environ.get("ORCHARD_DLT_DIR") or STATE_DIR / "dlt")


def working_folder(pipelines_dir: str | Path | None, settings: ClickHouseSettings) -> Path:
    """dlt's working folder for loads into one warehouse: a folder per server under the pipelines directory.
    dlt's local state (the tables it made, each table's incremental cursor) belongs to the warehouse it
    last loaded; with one folder for every warehouse, a connection moved back to a warehouse loaded before
    would carry the other one's cursors there and skip rows. A new folder starts from the warehouse's own
    state (`sync_destination` restores it from `_dlt_pipeline_state`)."""
    server = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{settings.host}-{settings.port}")
    return Path(pipelines_dir or pipelines_dir_default()) / server


KNOWN_ERRORS = (SourceDataError, TypeChangeRefused, WarehouseUnreachable, LoadError)


def _configure_dlt() -> None:
    # Orchard passes dlt its settings explicitly; dlt's Airflow provider would otherwise look up an
    # Airflow Variable for every config value it resolves (hundreds per run, seconds in a task).
    os.environ.setdefault("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")
    # we add _dlt_load_id to Arrow batches ourselves, so normalize can move files instead of rewriting
    dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = False
    dlt.config["runtime.dlthub_telemetry"] = False
    # `replace` loads into <db>_staging, then publishes it atomically and idempotently (destination.py): a
    # failed load leaves the old table
    dlt.config["destination.replace_strategy"] = "staging-optimized"
    # parquet's own encodings (dictionary, RLE) keep files small; snappy on top costs CPU at both ends
    dlt.config["data_writer.compression"] = "none"
    # A parquet insert is held whole in the warehouse's memory (its footer comes last): files of at most 2 M
    # rows, two inserted at a time, took a scale-1 load's warehouse peak from 2.8 to 1.6 GiB, where one
    # file held all 32 M order lines (bench/dbt).
    dlt.config["data_writer.file_max_items"] = 2_000_000
    dlt.config["load.workers"] = 2


def warehouse_columns(client: Any, database: str) -> dict[str, dict[str, str]]:
    """{table: {column: type}} of one warehouse database (empty if it does not exist yet)."""
    result = client.query(
        "SELECT table, name, type FROM system.columns WHERE database = %(db)s ORDER BY table, position",
        parameters={"db": database},
    )
    tables: dict[str, dict[str, str]] = {}
    for table, name, ch_type in result.result_rows:
        tables.setdefault(table, {})[name] = ch_type
    return tables


def _known_cause(exc: BaseException) -> BaseException | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, KNOWN_ERRORS):
            return current
        current = getattr(current, "exception", None) or current.__cause__ or current.__context__
    return None


def _is_connection_error(exc: BaseException) -> bool:
    text = str(exc)
    # refused: nothing listens; aborted/reset: the warehouse went away mid-load (the package stays pending)
    signs = (
        "Connection refused",
        "Max retries exceeded",
        "NewConnectionError",
        "Connection aborted",
        "Connection reset",
        "connection closed by server",  # clickhouse-connect: died while a query's answer was being read
    )
    return any(s in text for s in signs)


def _is_disk_full(exc: BaseException) -> bool:
    text = str(exc)
    return any(s in text for s in ("NOT_ENOUGH_SPACE", "No space left on device", "(CANNOT_WRITE_TO_FILE"))


def _quarantine_resource(quarantine: Quarantine, loaded_at: datetime, load_id: str) -> Any:
    """Quarantined rows as a dlt resource; `load_id` is the load their table's rows belong to."""
    from orchard.load.contracts import add_load_columns, current_load_id

    def rows() -> Any:
        yield add_load_columns(quarantine.to_arrow(load_id), loaded_at, current_load_id())

    return dlt.resource(
        rows(),
        name=QUARANTINE_TABLE,
        write_disposition="append",
        columns=[
            {"name": "line", "data_type": "bigint", "nullable": True},
            {
                "name": LOADED_AT,
                "data_type": "timestamp",
                "timezone": True,
                "precision": 6,
                "nullable": False,
            },
        ],
    )


@contextmanager
def pipeline_lock(pipelines_dir: Path, name: str) -> Iterator[None]:
    """One run at a time per pipeline on this machine (Airflow may start two dates of a backfill at once):
    dlt's working folder and incremental state are not made for concurrent runs."""
    pipelines_dir.mkdir(parents=True, exist_ok=True)
    with (pipelines_dir / f"{name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_pipeline(
    source_name: str,
    make_source: Callable[[Quarantine, dict[str, dict[str, str]], datetime], Any],
    database: str,
    *,
    interval: tuple[datetime, datetime] | None = None,
    settings: ClickHouseSettings | None = None,
    pipelines_dir: str | Path | None = None,
    progress: str | None = None,
) -> LoadReport:
    """Extract, normalize and load one source; refuse bad input before anything is written. A source's
    own run function passes its callers' `settings`, `pipelines_dir` and `progress` through."""
    span = (interval[0].isoformat(), interval[1].isoformat()) if interval else None
    with pipeline_lock(Path(pipelines_dir or pipelines_dir_default()), f"orchard_{database}"):
        return _run_locked(source_name, make_source, database, settings, pipelines_dir, progress, span)


def _run_locked(
    source_name: str,
    make_source: Callable[[Quarantine, dict[str, dict[str, str]], datetime], Any],
    database: str,
    settings: ClickHouseSettings | None,
    pipelines_dir: str | Path | None,
    progress: str | None,
    interval: tuple[str, str] | None,
) -> LoadReport:
    _configure_dlt()
    started = time.monotonic()
    settings = settings or ClickHouseSettings.resolve()
    report = LoadReport(source=source_name, database=database, interval=interval)
    client = get_client(settings)  # WarehouseUnreachable names host, port and the fix
    try:
        before = warehouse_columns(client, database)
        loaded_at = datetime.now(UTC)
        quarantine = Quarantine()
        pipeline = dlt.pipeline(
            pipeline_name=f"orchard_{database}",
            destination=http_destination(settings),
            dataset_name=database,
            pipelines_dir=str(working_folder(pipelines_dir, settings)),
            progress=progress or NULL_COLLECTOR,
        )
        try:
            # What `pipeline.run` does first, and extract alone does not: dlt's working folder remembers the
            # tables it created and each table's incremental cursor. When the raw database is missing in the
            # warehouse (its data folder was deleted), dlt forgets that state, so the tables are created again
            # and no row is skipped by a cursor of data that is gone.
            pipeline.sync_destination()
            source = make_source(quarantine, before, loaded_at)
            extracted = pipeline.extract(source, loader_file_format="parquet")
            report.load_ids = list(extracted.loads_ids)
            if quarantine.total:
                main_id = report.load_ids[-1] if report.load_ids else ""
                more = pipeline.extract(
                    _quarantine_resource(quarantine, loaded_at, main_id), loader_file_format="parquet"
                )
                report.load_ids += [i for i in more.loads_ids if i not in report.load_ids]
            normalized = pipeline.normalize()
            pipeline.load()
        except PipelineStepFailed as exc:
            cause = _known_cause(exc)
            if cause is not None:
                raise cause from None
            if _is_connection_error(exc):
                raise WarehouseUnreachable(unreachable_message(settings, exc.exception)) from None
            if _is_disk_full(exc):
                raise LoadError(
                    f"{source_name} load into {database} failed: the warehouse at {settings.describe()} is out of "
                    "disk space. Free space on the warehouse's data volume (or give it a bigger one), then rerun "
                    f"the load. ClickHouse said: {exc.exception}"
                ) from None
            raise LoadError(
                f"{source_name} load into {database} failed at step {exc.step}: {exc.exception}"
            ) from exc
        except Exception as exc:
            cause = _known_cause(exc)
            if cause is not None and cause is not exc:
                raise cause from None
            raise
        after = warehouse_columns(client, database)
    finally:
        client.close()

    row_counts = normalized.row_counts if normalized else {}
    for table, count in row_counts.items():
        if table.startswith("_dlt") or table == QUARANTINE_TABLE:
            continue
        report.rows[table] = report.rows.get(table, 0) + count
    for table, columns in after.items():
        if table.startswith("_dlt") or table == QUARANTINE_TABLE:
            continue
        if table not in before:
            report.new_tables.append(table)
            continue
        new = [c for c in columns if c not in before[table] and c not in (LOADED_AT, LOAD_ID)]
        if new:
            report.new_columns[table] = new
    report.quarantined = dict(quarantine.counts)
    report.quarantine_reasons = dict(quarantine.reasons)
    report.duration_s = time.monotonic() - started
    return report


def _day(value: str | date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return _day(datetime.fromisoformat(value))


def resolve_interval(
    interval: tuple[Any, Any] | None = None, day: str | date | None = None
) -> tuple[datetime, datetime] | None:
    """A data interval from (start, end) or from one day (that day's 00:00 to the next day's)."""
    from datetime import timedelta

    if interval is not None:
        start, end = (_day(v) for v in interval)
        if end <= start:
            raise LoadError(f"Interval end {end.isoformat()} is not after its start {start.isoformat()}.")
        return start, end
    if day is not None:
        start = _day(day)
        return start, start + timedelta(days=1)
    return None
