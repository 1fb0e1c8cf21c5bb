"""What every `orchard load <source>` command shares: progress style and a refused load as one red line."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import typer


def progress() -> str:
    # bars on a terminal; periodic log lines otherwise (Airflow logs, CI)
    return "tqdm" if sys.stderr.isatty() else "log"


def run_and_report(call: Callable[[], Any]) -> None:
    """Run a load and print its report; a refused load prints why and exits 1."""
    from orchard.load.contracts import SourceDataError, TypeChangeRefused
    from orchard.load.report import LoadError
    from orchard.warehouse.client import WarehouseUnreachable

    try:
        report = call()
    except (SourceDataError, TypeChangeRefused, LoadError, WarehouseUnreachable) as exc:
        typer.secho(f"Load refused: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    typer.echo(report.format())
