"""`orchard load shop`: new and changed rows of the shop app database into raw_shop."""

from __future__ import annotations

import typer

from orchard.load.cli import progress, run_and_report


def load(
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
    from orchard.sources.shop.pipeline import run_shop

    if date and (start or end):
        raise typer.BadParameter("give either --date or --start/--end, not both")
    if bool(start) != bool(end):
        raise typer.BadParameter("--start and --end go together")
    interval = (start, end) if start else None
    run_and_report(
        lambda: run_shop(db, interval, day=date, database=database, tables=table or None, progress=progress())
    )
