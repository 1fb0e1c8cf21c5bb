"""The weather readings as a dlt source: one row per station and day, merged on that key."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dlt

from orchard.load.contracts import LOADED_AT, SourceDataError

from .settings import DATASET_NAME

COLUMNS = ("station", "day", "temp_c")


def read_readings(path: Path, loaded_at: datetime) -> Iterator[dict]:
    if not path.is_file():
        raise SourceDataError(
            f"{path} not found: write the readings there, one `station,day,temp_c` per line"
        )
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise SourceDataError(f"{path} has columns {reader.fieldnames}; expected {', '.join(COLUMNS)}")
        for row in reader:
            yield {**row, "temp_c": float(row["temp_c"]), LOADED_AT: loaded_at}


@dlt.source(name="weather", max_table_nesting=0)
def weather(path: str = dlt.config.value, loaded_at: datetime | None = None, database: str = DATASET_NAME):
    """Daily readings per station; a station's day loaded again replaces the earlier reading."""
    yield dlt.resource(
        read_readings(Path(path), loaded_at or datetime.now(UTC)),
        name="readings",
        primary_key=["station", "day"],
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        columns=[
            {"name": "day", "data_type": "date", "nullable": False},
            {"name": LOADED_AT, "data_type": "timestamp", "timezone": True, "precision": 6},
        ],
    )
