"""dbt inside Airflow: the manifest Cosmos renders from, Cosmos configs, and an in-process dbt runner."""
