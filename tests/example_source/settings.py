"""The weather source's settings: its raw database, its one table and its registry entry."""

from __future__ import annotations

from orchard.sources.spec import Source

DATASET_NAME = "raw_weather"
TABLES = ("readings",)

SOURCE = Source(
    name="weather",
    database=DATASET_NAME,
    tables=TABLES,
    pipeline="example_source.pipeline:run_weather",
    load_command="example_source.cli:load",
)
