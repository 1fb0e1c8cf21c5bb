"""orchard_adhoc refuses a dbt selector that selects nothing before anything is built."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.dags


@pytest.mark.reliability(
    fault="an `orchard_adhoc` dbt selector that matches nothing",
    behaviour="`validate_selection` fails naming the selector and what to check; `dbt_build` never starts",
)
def test_selector_that_matches_nothing_is_refused_before_the_build(tiny_project, monkeypatch):
    from orchard.settings import ClickHouseSettings
    from orchard.transform.runner import DbtCommandError, list_selected

    # `dbt ls` reads the profile Cosmos builds from clickhouse_default but never connects
    monkeypatch.setenv("AIRFLOW_CONN_CLICKHOUSE_DEFAULT", ClickHouseSettings().airflow_connection())

    assert list_selected("tag:staging"), "the tiny project's staging models are selectable"
    with pytest.raises(DbtCommandError) as err:
        list_selected("tag:no_such_tag")
    assert "dbt selector 'tag:no_such_tag' matches no node: check the model, tag or path name" in str(
        err.value
    )


def test_the_build_waits_for_the_selection_check(tiny_project):
    """The adhoc DAG's shape: dbt_build runs only after validate_selection succeeded."""
    from airflow.sdk import DAG

    from orchard.orchestration.adhoc import adhoc_build

    with DAG("adhoc_shape", schedule=None, params={"select": "tag:marts", "full_refresh": False}) as dag:
        adhoc_build()
    assert dag.get_task("dbt_build").upstream_task_ids == {"validate_selection"}
