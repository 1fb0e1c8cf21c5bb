"""`orchard bi ...`: the local Superset and the dashboards as code."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="BI: Superset dashboards as code, imported and refreshed.", no_args_is_help=True)
ManifestOption = typer.Option(
    None, "--manifest", help="dbt manifest (default: the one the DAGs render from)."
)


@app.command()
def start() -> None:
    """Start the local Superset (initialised on first use) and import the dashboards."""
    from orchard.bi import local

    if local.up():
        print(local.login_lines())


@app.command()
def stop() -> None:
    """Stop the local Superset."""
    from orchard.bi import local

    local.down()


@app.command()
def status() -> None:
    from orchard.bi import local

    print(local.status())


@app.command("import")
def import_(manifest: Path = ManifestOption) -> None:
    """Import the dashboards in superset/assets into the configured Superset (overwrite, prune)."""
    from orchard.bi.assets import import_bundle
    from orchard.bi.config import SupersetConnection
    from orchard.bi.superset_api import SupersetAPI
    from orchard.transform.manifest import load_manifest

    connection = SupersetConnection.from_env()
    if connection is None:
        from orchard.bi import local

        connection = local.connection()
    result = import_bundle(SupersetAPI(connection), load_manifest(manifest))
    print(f"{len(result.dashboards)} dashboards, {result.charts} charts imported into {connection.url}")
    if result.pruned:
        print(f"removed (no longer in the code): {', '.join(result.pruned)}")


DashboardOption = typer.Option(None, "--dashboard", help="Only this dashboard (its slug); repeatable.")


@app.command()
def refresh(manifest: Path = ManifestOption, dashboard: list[str] = DashboardOption) -> None:
    """What the nightly's publish.bi_refresh does: sync the datasets, run every chart, record the results."""
    from orchard.bi import local, server
    from orchard.bi.config import SupersetConnection
    from orchard.bi.refresh import refresh as run_refresh
    from orchard.transform.manifest import load_manifest

    superset = SupersetConnection.from_env() or (local.connection() if server.running_pid() else None)
    results = run_refresh(
        load_manifest(manifest), run_id="manual", superset=superset, dashboards=dashboard or None
    )
    for dashboard_name, charts in sorted(results.items()):
        print(f"{dashboard_name}: {len(charts)} charts, {sum(charts.values()):,} rows")
