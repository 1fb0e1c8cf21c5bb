"""Airflow Assets for what Orchard writes: the raw tables each load fills and the models dbt builds."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset

# The raw data contract (notes/raw_contract.md): one ClickHouse database per source.
RAW_TABLES = {
    "instacart": [
        "aisles",
        "departments",
        "products",
        "orders",
        "order_products_prior",
        "order_products_train",
    ],
    "shop": ["users", "addresses", "promos", "products", "orders", "order_items", "events"],
}


def table_asset(database: str, table: str, group: str) -> Asset:
    return Asset(name=f"{database}.{table}", uri=f"clickhouse://warehouse/{database}/{table}", group=group)


def raw_assets(source: str) -> list[Asset]:
    return [table_asset(f"raw_{source}", table, "raw") for table in RAW_TABLES[source]]


def model_asset(node: dict[str, Any]) -> Asset:
    """The asset of a dbt model/snapshot/seed node from the manifest (database = its resolved schema)."""
    relation = node.get("alias") or node["name"]
    return table_asset(node["schema"], relation, node["resource_type"])
