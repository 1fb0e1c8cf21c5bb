"""`orchard load instacart|shop`: run one dlt pipeline from the command line and print its report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

app = typer.Typer(help="Load a source into the warehouse's raw databases with dlt.", no_args_is_help=True)


def _progress() -> str:
    # bars on a terminal; periodic log lines otherwise (Airflow logs, CI)
    return "tqdm" if sys.stderr.isatty() else "log"


def _run(call: Any) -> None:
    from orchard.load.contracts import SourceDataError, TypeChangeRefused
    from orchard.load.report import LoadError
    from orchard.warehouse.client import WarehouseUnreachable

    try:
        report = call()
    except (SourceDataError, TypeChangeRefused, LoadError, WarehouseUnreachable) as exc:
        typer.secho(f"Load refused: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    typer.echo(report.format())


@app.command("instacart")
def instacart(
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
    from orchard.load.pipelines import resolve_interval, run_instacart

    _run(
        lambda: run_instacart(
            data_dir,
            resolve_interval(day=date) if date else None,
            database=database,
            tables=table or None,
            progress=_progress(),
        )
    )


@app.command("shop")
def shop(
    db: str = typer.Option(
        None,
        "--db",
        help="SQLAlchemy URL of the shop database (default: $ORCHARD_SHOP_DB_URL or the sample SQLite).",
    ),
    date: str = typer.Option(None, "--date", help="Load rows updated on this day (YYYY-MM-DD, UTC)."),
    start: str = typer.Option(None, "--start", help="Interval start (ISO date or timestamp, inclusive)."),
    end: str = typer.Option(None, "--end", help="Interval end (ISO date or timestamp, exclusive)."),
    table: list[str] = typer.Option(None, "--table", help="Load only this table (repeatable)."),
    database: str = typer.Option(None, "--database", help="Raw database to load into (default raw_shop)."),
) -> None:
    """Load the shop app database into raw_shop: new and changed rows (by updated_at) only."""
    from orchard.load.pipelines import run_shop

    if date and (start or end):
        raise typer.BadParameter("give either --date or --start/--end, not both")
    if bool(start) != bool(end):
        raise typer.BadParameter("--start and --end go together")
    interval = (start, end) if start else None
    _run(
        lambda: run_shop(
            db, interval, day=date, database=database, tables=table or None, progress=_progress()
        )
    )
