"""Orchard: an Airflow-orchestrated ELT platform (dlt -> ClickHouse -> dbt)."""

__version__ = "0.1.0"
