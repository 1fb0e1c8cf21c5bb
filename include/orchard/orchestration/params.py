"""Trigger-form params with JSON-schema validation (Airflow refuses a trigger that does not validate)."""

from __future__ import annotations

from airflow.sdk import Param

from orchard.sources import registry

SOURCES = list(registry.SOURCES)
# dbt selector grammar, loosely: node names, methods (tag:, path:, source:...), graph operators, sets.
SELECTOR_PATTERN = r"^[A-Za-z0-9_.:/*+@,\- ]+$"


def full_refresh(default: bool = False) -> Param:
    return Param(
        default,
        type="boolean",
        title="Full refresh",
        description="Rebuild incremental models and snapshots from scratch (dbt --full-refresh).",
    )


def sources(default: list[str] | None = None) -> Param:
    return Param(
        list(default or SOURCES),
        type="array",
        items={"type": "string", "enum": SOURCES},
        uniqueItems=True,
        title="Sources to load",
        description="Which dlt loads run before dbt; the others are skipped for this run.",
    )


def select(default: str = "tag:marts") -> Param:
    return Param(
        default,
        type="string",
        minLength=1,
        maxLength=500,
        pattern=SELECTOR_PATTERN,
        title="dbt selection",
        description="A dbt --select expression, e.g. `+fct_grocery_orders` or `tag:intraday`.",
    )
