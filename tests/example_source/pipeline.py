"""The weather pipeline: `readings.csv` of a folder into raw_weather."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from orchard.load.pipelines import run_pipeline
from orchard.load.report import LoadReport

from .settings import DATASET_NAME
from .source import weather


def run_weather(
    folder: str | Path, interval: Any = None, *, database: str | None = None, **options: Any
) -> LoadReport:
    """Load `folder/readings.csv`; `options` go to run_pipeline (settings, pipelines_dir, progress)."""
    database = database or DATASET_NAME

    def make_source(quarantine: Any, existing: dict, loaded_at: datetime) -> Any:
        return weather(path=str(Path(folder) / "readings.csv"), loaded_at=loaded_at, database=database)

    return run_pipeline("weather", make_source, database, **options)
