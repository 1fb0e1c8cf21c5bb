"""`orchard dbt`: build the dbt manifest the Airflow DAGs render from."""

from __future__ import annotations

import typer

from orchard import settings

app = typer.Typer(help="dbt helpers for the Airflow DAGs.", no_args_is_help=True)


@app.callback()
def dbt() -> None:
    """dbt helpers for the Airflow DAGs."""


@app.command()
def manifest(
    force: bool = typer.Option(False, "--force", help="Rebuild even if the manifest is up to date."),
    target: str = typer.Option(settings.DBT_AIRFLOW_TARGET, help="dbt target to parse with."),
) -> None:
    """Build the manifest the DAGs render from (dbt/target/airflow-<target>/manifest.json) with `dbt parse`."""
    from orchard.transform.manifest import ManifestError, build_manifest, check_manifest

    if not force:
        try:
            path = check_manifest()
            typer.echo(f"dbt manifest is up to date: {path}")
            return
        except ManifestError:
            pass
    try:
        path = build_manifest(target=target)
    except ManifestError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"dbt manifest written: {path}")
