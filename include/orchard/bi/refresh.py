"""The nightly's BI refresh. With Superset configured: sync every Orchard dataset's columns with the table
dbt just built, run every chart's query (which refills Superset's cache), and fail naming the dashboard,
the chart and the error when a chart errors or comes back empty while its mart has rows. Without Superset:
say so, and only check that every mart a dbt exposure reads exists and has rows. Results per chart (or per
mart) go to ops.bi_refresh."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchard.bi.assets import orchard_datasets
from orchard.bi.config import SupersetConnection
from orchard.bi.superset_api import SupersetAPI, SupersetError
from orchard.warehouse.client import get_client

log = logging.getLogger(__name__)
OPS_DATABASE = "ops"


class BiRefreshError(RuntimeError):
    """A dashboard would show something wrong: the message names the dashboard, the chart and the error."""


@dataclass
class ChartResult:
    dashboard: str  # the dashboard's slug, which is its dbt exposure's name
    chart: str
    relation: str  # database.table of the chart's dataset
    rows: int
    status: str  # ok | error | empty (while its mart has rows) | mart_empty | mart_checked (no Superset)
    error: str = ""


def exposure_tables(manifest: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """exposure name -> [(database, table)] of the models it depends on."""
    nodes = manifest.get("nodes", {})
    result: dict[str, list[tuple[str, str]]] = {}
    for exposure in manifest.get("exposures", {}).values():
        tables = []
        for unique_id in exposure.get("depends_on", {}).get("nodes", []):
            node = nodes.get(unique_id)
            if node and node.get("resource_type") in {"model", "snapshot", "seed"}:
                tables.append((node["schema"], node.get("alias") or node["name"]))
        result[exposure["name"]] = tables
    return result


def refresh(
    manifest: dict[str, Any],
    run_id: str = "",
    client: Any = None,
    superset: SupersetConnection | None = None,
    dashboards: list[str] | None = None,
) -> dict[str, dict[str, int]]:
    """Refresh the dashboards (see the module's doc), or only those whose slugs are given. Returns
    dashboard -> chart -> rows, or, without Superset, exposure -> mart -> rows."""
    client = client or get_client()
    superset = superset or SupersetConnection.from_env()
    if superset is None:
        log.info(
            "BI refresh skipped: no Superset configured (set AIRFLOW_CONN_SUPERSET_DEFAULT or ORCHARD_SUPERSET_URL); "
            "checking only that every mart a dbt exposure reads exists and has rows"
        )
        results = check_marts(manifest, client)
    else:
        results = refresh_superset(SupersetAPI(superset), client, dashboards)
    _record(client, results, run_id)
    problems = [r for r in results if r.status in {"error", "empty"}]
    if problems:
        raise BiRefreshError(
            f"{len(problems)} broken: "
            + "; ".join(
                f"dashboard {p.dashboard!r}" + (f", chart {p.chart!r}" if p.chart else "") + f": {p.error}"
                for p in problems
            )
        )
    summary: dict[str, dict[str, int]] = {}
    for result in results:
        summary.setdefault(result.dashboard, {})[result.chart or result.relation] = result.rows
    return summary


def check_marts(manifest: dict[str, Any], client: Any) -> list[ChartResult]:
    """Every mart a dbt exposure reads exists and has rows."""
    results = []
    for exposure, tables in sorted(exposure_tables(manifest).items()):
        for database, table in tables:
            relation = f"{database}.{table}"
            if not int(client.command(f"EXISTS TABLE `{database}`.`{table}`")):
                results.append(ChartResult(exposure, "", relation, 0, "error", f"{relation} does not exist"))
                continue
            rows = int(client.command(f"SELECT count() FROM `{database}`.`{table}`"))
            status, error = ("mart_checked", "") if rows else ("empty", f"{relation} is empty")
            results.append(ChartResult(exposure, "", relation, rows, status, error))
    return results


def refresh_superset(api: SupersetAPI, client: Any, only: list[str] | None = None) -> list[ChartResult]:
    datasets = {row["id"]: row for row in orchard_datasets(api)}
    slugs = {
        row["id"]: row["slug"] or row["dashboard_title"]
        for row in api.list("dashboard", ["id", "slug", "dashboard_title"])
    }
    charts = [
        chart
        for chart in api.list("chart", ["id", "slice_name", "datasource_id", "dashboards.id"])
        if chart["datasource_id"] in datasets
        and (only is None or any(slugs.get(d["id"]) in only for d in chart.get("dashboards") or []))
    ]
    dropped: dict[int, list[str]] = {}
    for dataset_id in sorted({chart["datasource_id"] for chart in charts}):
        dataset = datasets[dataset_id]
        before = api.dataset_columns(dataset_id)
        api.refresh_dataset(dataset_id)
        after = api.dataset_columns(dataset_id)
        relation = f"{dataset['schema']}.{dataset['table_name']}"
        if set(after) - set(before):
            log.info("%s: new columns %s", relation, sorted(set(after) - set(before)))
        if set(before) - set(after):
            dropped[dataset_id] = sorted(set(before) - set(after))
            log.warning("%s: columns gone from the table: %s", relation, dropped[dataset_id])
    mart_rows: dict[int, int] = {}
    results = []
    for chart in charts:
        dataset = datasets[chart["datasource_id"]]
        relation = f"{dataset['schema']}.{dataset['table_name']}"
        if chart["datasource_id"] not in mart_rows:
            mart_rows[chart["datasource_id"]] = int(
                client.command(f"SELECT count() FROM `{dataset['schema']}`.`{dataset['table_name']}`")
            )
        names = [slugs.get(d["id"], str(d["id"])) for d in chart.get("dashboards") or []] or [
            "(no dashboard)"
        ]
        rows, status, error = 0, "ok", ""
        try:
            rows = sum(int(query.get("rowcount") or 0) for query in api.chart_data(chart["id"]))
        except SupersetError as exc:
            status, error = "error", str(exc)
            if dropped.get(chart["datasource_id"]):
                error += f" (columns {dropped[chart['datasource_id']]} are gone from {relation})"
        if status == "ok" and rows == 0:
            if mart_rows[chart["datasource_id"]]:
                status = "empty"
                error = f"no rows although {relation} has {mart_rows[chart['datasource_id']]:,}"
            else:
                status = "mart_empty"
        for name in names:
            results.append(ChartResult(name, chart["slice_name"], relation, rows, status, error))
    return results


def _record(client: Any, results: list[ChartResult], run_id: str) -> None:
    client.command(f"CREATE DATABASE IF NOT EXISTS {OPS_DATABASE}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {OPS_DATABASE}.bi_refresh (refreshed_at DateTime64(6, 'UTC'), "
        "run_id String, exposure String, relation String, row_count UInt64) "
        "ENGINE = MergeTree ORDER BY (refreshed_at, exposure)"
    )
    # Per chart since Superset: columns added to the table the mart-only refresh created.
    for column in ("chart", "status", "error"):
        client.command(f"ALTER TABLE {OPS_DATABASE}.bi_refresh ADD COLUMN IF NOT EXISTS {column} String")
    now = datetime.now(UTC)
    rows = [[now, run_id, r.dashboard, r.relation, r.rows, r.chart, r.status, r.error] for r in results]
    if rows:
        client.insert(
            f"{OPS_DATABASE}.bi_refresh",
            rows,
            column_names=[
                "refreshed_at",
                "run_id",
                "exposure",
                "relation",
                "row_count",
                "chart",
                "status",
                "error",
            ],
        )
