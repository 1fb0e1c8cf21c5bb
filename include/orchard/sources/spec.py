"""What Orchard knows about a source: one `Source` per package, listed in `orchard.sources.registry`."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


def resolve(reference: str) -> Any:
    """The object a "package.module:name" reference names, imported on first use (DAG files stay light)."""
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Source:
    """One source: its raw database, the tables it loads, its pipeline and its commands.

    References are "module:name" strings, imported when used: parsing a DAG file needs only the
    names and tables, not dlt.
    """

    name: str
    database: str  # the raw database its tables land in, equal to the dlt dataset name
    tables: tuple[str, ...]  # what it loads; the Airflow assets of its load task derive from them
    pipeline: str  # run(location, interval, **options) -> LoadReport
    load_command: str  # the typer command behind `orchard load <name>`
    sample_command: str | None = None  # `orchard sample <name>`: development data, never run in a DAG
    connection_id: str | None = None  # the Airflow connection whose URL is the pipeline's location

    def run(self, location: Any = None, interval: Any = None, **options: Any) -> Any:
        return resolve(self.pipeline)(location, interval, **options)
