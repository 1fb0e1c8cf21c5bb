"""Airflow DAG orchard_intraday: shop loads and the intraday-tagged dbt models every 4 hours on weekdays."""

from orchard.orchestration.factory import intraday_dag

dag = intraday_dag()
