"""`orchard load instacart`: the Instacart CSV files into raw_instacart."""

from __future__ import annotations

from pathlib import Path

import typer

from orchard.load.cli import progress, run_and_report


def load(
    data_dir: Path = typer.Option(
        None, "--dir", help="Folder with the six Kaggle CSV files (default: $ORCHARD_DATA_DIR/instacart)."
    ),
    date: str = typer.Option(
        None, "--date", help="Data date YYYY-MM-DD: loads DIR/<date>/ when that daily drop folder exists."
    ),
    table: list[str] = typer.Option(None, "--table", help="Load only this table (repeatable)."),
    database: str = typer.Option(
        None, "--database", help="Raw database to load into (default raw_instacart)."
    ),
) -> None:
    """Load the Instacart CSV files into raw_instacart (replaces each table atomically)."""
    from orchard.load.pipelines import resolve_interval
    from orchard.sources.instacart.pipeline import run_instacart

    run_and_report(
        lambda: run_instacart(
            data_dir,
            resolve_interval(day=date) if date else None,
            database=database,
            tables=table or None,
            progress=progress(),
        )
    )
