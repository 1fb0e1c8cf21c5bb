"""The Instacart pipeline: a full extract, or one daily drop of new rows, into raw_instacart."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from orchard.load.contracts import Quarantine
from orchard.load.pipelines import resolve_interval, run_pipeline
from orchard.load.report import LoadReport

from .helpers import files_to_load, is_daily_drop, preflight
from .settings import DATASET_NAME, DEFAULT_DIR
from .source import instacart


def run_instacart(
    data_dir: str | Path | None = None,
    interval: tuple[Any, Any] | None = None,
    *,
    database: str | None = None,
    tables: list[str] | None = None,
    **options: Any,
) -> LoadReport:
    """Load the Instacart CSVs in `data_dir` into `raw_instacart` and return the report.

    `data_dir` is a full extract (each table replaced) or a daily drop folder named YYYY-MM-DD (new rows merged
    on their primary keys). With an interval, the daily drop `data_dir/<start date>` is loaded when it exists;
    otherwise `data_dir` is loaded as a full extract unless it is the one already loaded (a day without a drop
    loads nothing). `options` go to run_pipeline (settings, pipelines_dir, progress).
    """
    bounds = resolve_interval(interval)
    folder = Path(data_dir or DEFAULT_DIR)
    if bounds and (folder / bounds[0].date().isoformat()).is_dir():
        folder = folder / bounds[0].date().isoformat()
    database = database or DATASET_NAME
    preflight(folder, files_to_load(folder, tables))

    def make_source(quarantine: Quarantine, existing: dict, loaded_at: datetime) -> Any:
        return instacart(
            data_dir=str(folder),
            loaded_at=loaded_at,
            quarantine=quarantine,
            existing_columns=existing,
            database=database,
            tables=tables,
            skip_loaded_extract=bounds is not None and not is_daily_drop(folder),
        )

    return run_pipeline("instacart", make_source, database, interval=bounds, **options)
