"""Orchard's Airflow DAGs, built by factories: default args, params, assets, load tasks, the dbt task group."""
