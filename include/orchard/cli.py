"""The `orchard` command line. Each concern registers its own command group here."""

from __future__ import annotations

import typer

from orchard.alerting.cli import app as alerts_app
from orchard.bi.cli import app as bi_app
from orchard.load.cli import app as load_app
from orchard.settings import disable_telemetry
from orchard.sources.sample_cli import app as sample_app
from orchard.transform.cli import app as dbt_app
from orchard.warehouse.cli import app as warehouse_app

disable_telemetry()

app = typer.Typer(
    help="Orchard: load with dlt, transform with dbt, store in ClickHouse, orchestrate with Airflow.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(warehouse_app, name="warehouse")
app.add_typer(alerts_app, name="alerts")
app.add_typer(dbt_app, name="dbt")
app.add_typer(sample_app, name="sample")
app.add_typer(load_app, name="load")
app.add_typer(bi_app, name="bi")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
