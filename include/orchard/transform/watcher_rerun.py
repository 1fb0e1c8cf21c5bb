"""Clearing a WATCHER run makes it run again: hooks that keep a cleared task from reading the node statuses
an earlier `dbt build` of the same run left behind.

Cosmos 1.15's producer pushes each node's status to XCom (`<node>_status`, `<model>_tests_status`) as dbt
finishes it, and on failure also copies them into a Variable (`cosmos_xcom_backup__<dag>__<group>__<run>`),
which it restores when it runs again (try > 1) before skipping itself. Cleared model and test tasks would
read those old statuses and fail again on the old error. Each clear of a run bumps its `clear_number`
(Airflow's `clear_task_instances`), so Orchard tags the producer's build with the `clear_number` it ran
under, and a task that finds the build older than the run's last clear drops its node's stale status. Cosmos
then does the rest: with the producer finished (or skipped) it runs that one node itself
(`_fallback_to_non_watcher_run`); with the producer cleared too it waits for it, and a producer that never
built in this run (it was upstream_failed) builds afresh, one `dbt build` watched as on a first night.
"""

from __future__ import annotations

import logging
from typing import Any

from cosmos.airflow.compatibility import delete_variable, get_variable
from cosmos.operators._watcher.aggregation import get_tests_status_xcom_key
from cosmos.operators._watcher.state import get_status_xcom_key
from cosmos.operators._watcher.xcom import _get_task_group_id, _xcom_backup_variable_key

log = logging.getLogger(__name__)

BUILD_ROUND_KEY = "orchard_build_round"  # the run's clear_number when the producer's try started


def producer_starts(context: Any) -> None:
    """The producer's `pre_execute`: mark the round its build belongs to, and drop the previous try's backup
    Variable so that a rerun restores no failed statuses (Airflow has already deleted the previous try's
    XComs when this try started)."""
    ti = context["ti"]
    ti.xcom_push(key=BUILD_ROUND_KEY, value=context["dag_run"].clear_number or 0)
    backup = _xcom_backup_variable_key(ti.dag_id, _get_task_group_id(ti), context["run_id"])
    if get_variable(backup, default=None) is not None:
        delete_variable(backup)
        log.info("Dropped %s: the previous build's node statuses are not this run's", backup)


def consumer_starts(context: Any) -> None:
    """A model, seed, snapshot or test task's `pre_execute`: in a run cleared since the producer's build
    began, that build's status for this node is stale; delete it so Cosmos waits or runs the node itself."""
    run_round = context["dag_run"].clear_number or 0
    if not run_round:
        return  # never cleared: the statuses are this night's
    ti, task = context["ti"], context["task"]
    producer = task.producer_task_id
    if ti.xcom_pull(task_ids=producer, key=BUILD_ROUND_KEY) == run_round:
        return  # the producer (re)started after the last clear: what it reports is fresh
    from airflow.sdk.execution_time.xcom import XCom

    node = task.model_unique_id
    key = (
        get_tests_status_xcom_key(node)
        if getattr(task, "is_test_sensor", False)
        else get_status_xcom_key(node)
    )
    if ti.xcom_pull(task_ids=producer, key=key) is not None:
        XCom.delete(key=key, task_id=producer, dag_id=ti.dag_id, run_id=ti.run_id, map_index=-1)
        log.info("Dropped %s of %s: it is from a build before this run was cleared", key, producer)
