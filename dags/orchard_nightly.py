"""Airflow DAG orchard_nightly: nightly load -> dbt -> freshness -> publish (built by orchard.orchestration)."""

from orchard.orchestration.factory import nightly_dag

dag = nightly_dag()
