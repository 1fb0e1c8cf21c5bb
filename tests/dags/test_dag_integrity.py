"""DAG integrity: every DAG file imports, and every DAG and task carries Orchard's defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchard.alerting.notifier import RunFailureNotifier, TaskFailureNotifier
from orchard.orchestration.defaults import MAX_ACTIVE_RUNS

pytestmark = pytest.mark.dags

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
EXPECTED = {"orchard_nightly", "orchard_intraday", "orchard_full_refresh", "orchard_adhoc"}


@pytest.fixture(scope="module")
def dagbag(tiny_project):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_every_dag_file_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == EXPECTED


def test_dag_files_pass_airflow_safe_mode():
    # Airflow skips files lacking these words in safe mode: a DAG file that lost them would vanish silently.
    for path in DAGS_DIR.glob("*.py"):
        text = path.read_text().lower()
        assert "airflow" in text and "dag" in text, path


PRODUCER = "dbt_producer_watcher"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_dag_has_docs_tags_owner_retries_and_notifiers(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.doc_md and dag_id in dag.doc_md
    assert "orchard" in dag.tags and len(dag.tags) >= 2
    assert any(isinstance(cb, RunFailureNotifier) for cb in dag.on_failure_callback)
    assert dag.max_active_runs == MAX_ACTIVE_RUNS == 1  # runs of a DAG rebuild the same tables
    for task in dag.tasks:
        assert task.owner == "data-platform", task.task_id
        if task.task_id.endswith(PRODUCER):
            # WATCHER's one `dbt build`: Cosmos skips a producer's retry, and the model tasks watching it
            # report its failures (after their own retries), so it neither retries nor alerts itself.
            assert task.retries == 0, task.task_id
            assert not any(isinstance(cb, TaskFailureNotifier) for cb in task.on_failure_callback or [])
            continue
        callbacks = task.on_failure_callback or []
        assert any(isinstance(cb, TaskFailureNotifier) for cb in callbacks), task.task_id
        if dag_id != "orchard_adhoc":
            assert task.retries >= 1, task.task_id


def test_nightly_schedule_catchup_and_deadline(dagbag):
    dag = dagbag.dags["orchard_nightly"]
    assert dag.catchup is True
    assert dag.timetable.summary == "0 2 * * *"
    [deadline] = dag.deadline if isinstance(dag.deadline, list) else [dag.deadline]
    assert deadline.interval.total_seconds() == 4 * 3600
    assert set(dag.params.keys()) == {"full_refresh", "sources"}


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_builds_take_the_one_dbt_build_slot_and_other_warehouse_tasks_the_clickhouse_pool(dagbag, dag_id):
    """Two dbt builds at once race on dbt's table swaps, and an Airflow 3 backfill runs beside the nightly
    (its runs do not count against the DAG's max_active_runs): every task that runs a dbt build queues
    for the build pool's one slot; loads, freshness and WATCHER's watching model tasks do not. (The pools
    themselves: tests/unit/test_deployment_settings.py.)"""
    dag = dagbag.dags[dag_id]
    builders, others = set(), set()
    for task in dag.tasks:
        kind = type(task).__name__
        if kind == "EmptyOperator":  # WATCHER's gate after its producer: no work at all
            continue
        if task.task_id.endswith(PRODUCER) or kind.startswith("DbtBuild"):
            builders.add(task.task_id)
            assert task.pool == "dbt_build", task.task_id
        elif task.task_id.startswith(("extract_load.", "transform.")) or task.task_id == "source_freshness":
            others.add(task.task_id)
            assert task.pool == "clickhouse", task.task_id
    assert builders, dag_id
    assert dag_id == "orchard_adhoc" or others, dag_id


def test_dag_files_import_with_the_real_dbt_project(real_project):
    """The shipped project, not only the tiny one: its manifest renders every DAG without errors."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    nightly = bag.dags["orchard_nightly"]
    models = [t for t in nightly.task_ids if t.startswith("transform.") and t.endswith(".run")]
    assert "transform.fct_grocery_orders.run" in models, models
    # the ops marts read every dbt invocation's results: built in publish, after the rest
    assert not [t for t in nightly.task_ids if t.startswith("transform.rpt_ops")]
    assert {a.name for a in nightly.get_task("publish.ops_marts").outlets} >= {"ops.rpt_ops_test_pass_rates"}


def test_orchard_dbt_manifest_command_builds_once_then_says_up_to_date(tiny_project):
    from typer.testing import CliRunner

    from orchard.cli import app

    result = CliRunner().invoke(app, ["dbt", "manifest"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
