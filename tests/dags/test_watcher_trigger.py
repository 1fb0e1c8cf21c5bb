"""WATCHER tasks defer to Orchard's trigger, which ends a succeeded node's task in the triggerer and hands
everything else back to a worker, and the producer pushes only what those tasks read (issue #15). The real
run: tests/e2e/test_backfill_fortnight.py."""

from __future__ import annotations

import asyncio
import importlib

import pytest
from dagtest_helpers import build_dag

pytestmark = pytest.mark.dags

WATCHERS = ("transform.fct_tiny.run", "transform.fct_tiny.test", "transform.tiny_labels_seed")


def _deferral(task):
    from airflow.sdk.exceptions import TaskDeferred
    from cosmos.operators._watcher.triggerer import WatcherTrigger

    cosmos_trigger = WatcherTrigger(
        model_unique_id=task.model_unique_id,
        producer_task_id=task.producer_task_id,
        dag_id=task.dag_id,
        run_id="manual__1",
        map_index=-1,
        poke_interval=task.poke_interval,
        is_test_sensor=task.is_test_sensor,
    )
    with pytest.raises(TaskDeferred) as deferred:
        task.defer(trigger=cosmos_trigger, method_name="execute_complete", timeout=None)
    return deferred.value


def test_watcher_tasks_defer_to_the_trigger_that_ends_them_keeping_cosmos_names(tiny_project):
    dag = build_dag("orchard_nightly", granularity="model")
    for task_id in WATCHERS:
        task = dag.get_task(task_id)
        assert type(task).__name__.startswith("Dbt") and type(task).__name__.endswith("WatcherOperator")
        assert not getattr(task, "end_from_trigger", False)  # Airflow refuses it beside Cosmos's listeners
        deferred = _deferral(task)
        assert deferred.method_name == "execute_complete"  # a failure still resumes on a worker
        path, kwargs = deferred.trigger.serialize()
        module, name = path.rsplit(".", 1)
        again = getattr(importlib.import_module(module), name)(**kwargs)  # what the triggerer does
        assert again.serialize() == (path, kwargs) and kwargs["end_on_success"] is True
        assert kwargs["is_test_sensor"] is task_id.endswith(".test")


def _events(trigger, status, producer_state="running"):
    """The events of the trigger with the producer's XComs and state as given (the rest is Cosmos's code)."""

    async def xcom(key):
        if key.endswith("_tests_status"):
            return status
        if key.endswith("_status"):
            return status and {"status": status, "outlet_uris": []}
        return None

    async def producer():
        return producer_state

    trigger.get_xcom_val = xcom
    trigger._get_producer_task_status = producer
    trigger.poke_interval = 0

    async def collect():
        return [event async for event in trigger.run()]

    return asyncio.run(collect())


@pytest.mark.parametrize(
    ("status", "producer_state", "ends_here"),
    [
        ("success", "running", True),
        ("pass", "running", True),  # a model's tests passed
        ("error", "running", False),  # Cosmos raises on a worker: retries and the failure notifier run
        ("fail", "running", False),
        ("skipped", "running", False),
        (None, "success", False),  # not run by the producer: a worker says so
        (None, "failed", False),
    ],
)
def test_only_a_success_ends_in_the_triggerer(status, producer_state, ends_here):
    from airflow.triggers.base import TaskSuccessEvent

    from orchard.transform.watcher_trigger import EndingWatcherTrigger

    for is_test_sensor in (False, True):
        if status in ("pass", "fail") and not is_test_sensor:
            continue
        trigger = EndingWatcherTrigger(
            model_unique_id="model.orchard.fct_tiny",
            producer_task_id="transform.dbt_producer_watcher",
            dag_id="orchard_nightly",
            run_id="manual__1",
            map_index=-1,
            is_test_sensor=is_test_sensor,
        )
        [event] = _events(trigger, status, producer_state)
        assert isinstance(event, TaskSuccessEvent) is ends_here, (is_test_sensor, event)


def _dbt_line(name: str, unique_id: str, status: str, resource_type: str) -> str:
    """One line of dbt's JSON log as the producer's parser receives it (dbt's event names and fields)."""
    import json

    node_info = {"unique_id": unique_id, "node_status": status, "resource_type": resource_type}
    return json.dumps(
        {"info": {"name": name, "msg": f"{name} {unique_id}"}, "data": {"node_info": node_info}}
    )


def test_the_producer_pushes_the_dbt_events_a_model_task_reads_and_no_others(tiny_project):
    """Cosmos's own log parser, run through Orchard's producer: of a model's four dbt events only the last is
    pushed, a test's none; node statuses are pushed as Cosmos pushes them."""
    from orchard.transform.watcher_producer import DbtProducerWatcherOperator

    dag = build_dag("orchard_nightly", granularity="model")
    producer = dag.get_task("transform.dbt_producer_watcher")
    assert (
        type(producer) is DbtProducerWatcherOperator
        and type(producer).__name__ == "DbtProducerWatcherOperator"
    )

    pushed: list[tuple[str, object]] = []

    class TaskInstance:  # what the parser calls on Airflow's task instance
        def xcom_push(self, key, value):
            pushed.append((key, value))

        def xcom_pull(self, key=None, **_):
            return None

    parse = producer._make_parse_callable()
    extra = {"project_dir": str(tiny_project), "context": {"ti": TaskInstance(), "run_id": "manual__1"}}
    model, test = "model.orchard.fct_tiny", "test.orchard.not_null_fct_tiny_n.1a2b"
    for name, status in (
        ("NodeStart", "started"),
        ("NodeCompiling", "compiling"),
        ("NodeExecuting", "executing"),
    ):
        parse(_dbt_line(name, model, status, "model"), extra)
        parse(_dbt_line(name, test, status, "test"), extra)
    parse(_dbt_line("NodeFinished", model, "success", "model"), extra)
    parse(_dbt_line("NodeFinished", test, "pass", "test"), extra)

    events = [(k, v["status"]) for k, v in pushed if k.endswith("_dbt_event")]
    assert events == [("model__orchard__fct_tiny_dbt_event", "success")], pushed
    assert ("model__orchard__fct_tiny_status", {"status": "success", "outlet_uris": []}) in pushed, pushed
