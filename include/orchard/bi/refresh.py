"""BI refresh: every mart a dbt exposure (dashboard) depends on must exist and have rows; the counts are
recorded in `ops.bi_refresh` so the dashboards can show how fresh they are."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orchard.warehouse.client import get_client

OPS_DATABASE = "ops"


class BiRefreshError(RuntimeError):
    """A dashboard would show nothing: the message names the exposure and the mart."""


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


def refresh(manifest: dict[str, Any], run_id: str = "", client: Any = None) -> dict[str, dict[str, int]]:
    """Count the rows of every exposed mart, record them, and fail if a dashboard's mart is missing or empty."""
    client = client or get_client()
    counts: dict[str, dict[str, int]] = {}
    problems = []
    for exposure, tables in sorted(exposure_tables(manifest).items()):
        counts[exposure] = {}
        for database, table in tables:
            exists = client.command(f"EXISTS TABLE `{database}`.`{table}`")
            if not int(exists):
                problems.append(f"{exposure}: {database}.{table} does not exist")
                continue
            rows = int(client.command(f"SELECT count() FROM `{database}`.`{table}`"))
            counts[exposure][f"{database}.{table}"] = rows
            if rows == 0:
                problems.append(f"{exposure}: {database}.{table} is empty")
    _record(client, counts, run_id)
    if problems:
        raise BiRefreshError(
            "dashboards would show missing data: " + "; ".join(problems) + ". Check the dbt tasks upstream."
        )
    return counts


def _record(client: Any, counts: dict[str, dict[str, int]], run_id: str) -> None:
    client.command(f"CREATE DATABASE IF NOT EXISTS {OPS_DATABASE}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {OPS_DATABASE}.bi_refresh (refreshed_at DateTime64(6, 'UTC'), "
        "run_id String, exposure String, relation String, row_count UInt64) "
        "ENGINE = MergeTree ORDER BY (refreshed_at, exposure)"
    )
    now = datetime.now(UTC)
    rows = [[now, run_id, exp, rel, n] for exp, tables in counts.items() for rel, n in tables.items()]
    if rows:
        client.insert(
            f"{OPS_DATABASE}.bi_refresh",
            rows,
            column_names=["refreshed_at", "run_id", "exposure", "relation", "row_count"],
        )
