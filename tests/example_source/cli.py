"""`orchard load weather`: the readings of a folder into raw_weather."""

from __future__ import annotations

from pathlib import Path

import typer

from orchard.load.cli import progress, run_and_report


def load(folder: Path = typer.Option(..., "--dir", help="Folder with readings.csv.")) -> None:
    """Load the weather readings into raw_weather (a station's day loaded again replaces the reading)."""
    from .pipeline import run_weather

    run_and_report(lambda: run_weather(folder, progress=progress()))
