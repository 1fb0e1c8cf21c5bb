"""Airflow DAG orchard_adhoc: one validated `dbt build --select <param>`, triggered by hand."""

from orchard.orchestration.factory import adhoc_dag

dag = adhoc_dag()
