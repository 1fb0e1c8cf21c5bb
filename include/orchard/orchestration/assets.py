"""Airflow Assets for what Orchard writes: the raw tables each load fills and the models dbt builds."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset

from orchard.sources.registry import get


def table_asset(database: str, table: str, group: str) -> Asset:
    return Asset(name=f"{database}.{table}", uri=f"clickhouse://warehouse/{database}/{table}", group=group)


def raw_assets(source: str) -> list[Asset]:
    """The raw tables a source's load fills, as its registry entry lists them."""
    spec = get(source)
    return [table_asset(spec.database, table, "raw") for table in spec.tables]


def model_asset(node: dict[str, Any]) -> Asset:
    """The asset of a dbt model/snapshot/seed node from the manifest (database = its resolved schema)."""
    relation = node.get("alias") or node["name"]
    return table_asset(node["schema"], relation, node["resource_type"])
