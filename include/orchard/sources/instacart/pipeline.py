"""The Instacart pipeline: the CSV files of one folder (or one daily drop) into raw_instacart."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from orchard.load.contracts import Quarantine
from orchard.load.pipelines import resolve_interval, run_pipeline
from orchard.load.report import LoadReport

from .helpers import preflight
from .settings import DATASET_NAME, DEFAULT_DIR, FILES
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

    With an interval, a daily drop folder `data_dir/<start date>` is used when it exists. `options` go to
    run_pipeline (settings, pipelines_dir, progress).
    """
    bounds = resolve_interval(interval)
    folder = Path(data_dir or DEFAULT_DIR)
    if bounds and (folder / bounds[0].date().isoformat()).is_dir():
        folder = folder / bounds[0].date().isoformat()
    database = database or DATASET_NAME
    preflight(folder, tuple(s for s in FILES if tables is None or s.table in tables))

    def make_source(quarantine: Quarantine, existing: dict, loaded_at: datetime) -> Any:
        return instacart(
            data_dir=str(folder),
            loaded_at=loaded_at,
            quarantine=quarantine,
            existing_columns=existing,
            database=database,
            tables=tables,
        )

    return run_pipeline("instacart", make_source, database, interval=bounds, **options)
