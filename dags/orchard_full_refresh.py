"""Airflow DAG orchard_full_refresh: Sunday full reload and `dbt build --full-refresh`."""

from orchard.orchestration.factory import full_refresh_dag

dag = full_refresh_dag()
