"""The `orchard` command line. Each concern registers its own command group; sources come from the registry."""

from __future__ import annotations

import typer

from orchard.alerting.cli import app as alerts_app
from orchard.bi.cli import app as bi_app
from orchard.settings import disable_telemetry
from orchard.sources.registry import SOURCES
from orchard.sources.spec import resolve
from orchard.transform.cli import app as dbt_app
from orchard.warehouse.cli import app as warehouse_app

app = typer.Typer(
    help="Orchard: load with dlt, transform with dbt, store in ClickHouse, orchestrate with Airflow.",
    no_args_is_help=True,
    add_completion=False,
)
load_app = typer.Typer(
    help="Load a source into the warehouse's raw databases with dlt.", no_args_is_help=True
)
sample_app = typer.Typer(help="Generate sample source data for development.", no_args_is_help=True)
for source in SOURCES.values():
    load_app.command(source.name)(resolve(source.load_command))
    if source.sample_command:
        sample_app.command(source.name)(resolve(source.sample_command))

app.add_typer(warehouse_app, name="warehouse")
app.add_typer(alerts_app, name="alerts")
app.add_typer(dbt_app, name="dbt")
app.add_typer(sample_app, name="sample")
app.add_typer(load_app, name="load")
app.add_typer(bi_app, name="bi")


def main() -> None:
    disable_telemetry()  # this process and the dbt/dlt work it starts
    app()


if __name__ == "__main__":
    main()
