"""WATCHER model, seed, snapshot and test tasks that end in the triggerer when their node succeeded, instead of
waiting for a worker to start the task again only to run Cosmos's `execute_complete` (issue #15).

Cosmos's consumer sensors defer to `WatcherTrigger`, which fires a TriggerEvent when the producer reports the
node; the scheduler then hands the task to a worker, which parses the DAG again and runs `execute_complete`:
seconds per model on a loaded machine. Airflow 3's triggerer ends a task itself when its trigger yields a
`TaskSuccessEvent` (airflow.models.trigger.handle_event_submit for BaseTaskEndEvent: it sets the state, with no
worker). Only a plain success ends there; what `execute_complete` would do on success is, for Orchard's tasks:
- log the node's dbt event: logged here instead, into the same task log;
- keep the compiled SQL as a rendered field: not kept (the producer's log and dbt's target hold it);
- emit datasets: nothing, the groups render with emit_datasets=False.
A task ended in the triggerer records no asset events for its outlets (Airflow 3.3.2 registers outlets only
when a worker reports the task's success), so the model assets Orchard declares get no events from such a
task: ORCHARD_WATCHER_END_IN_TRIGGERER=false keeps the worker resume and the events.
A failed, skipped or not-run node, a failed or skipped producer: the usual TriggerEvent, so a worker resumes
the task and Cosmos raises, skips or runs the node itself, and the failure notifier and retries run as before.

The tasks also start in the triggerer (Airflow 3's `start_from_trigger`): the scheduler defers a task as it
schedules it, into StartingWatcherTrigger, so a node that succeeds costs its task no worker start at all. What
the worker's first start did before deferring (Cosmos's BaseConsumerSensor.poke) that a trigger cannot, it
hands back to a worker (execute_complete then runs Cosmos's own execute): a retry or a cleared task, which
Cosmos answers by building the node itself, and a node the producer ended without reporting.

Triggers are stored by class path and kwargs: this module must stay importable by the triggerer, and a
trigger stored before a change of its kwargs must still construct (new kwargs get defaults).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import StartTriggerArgs, TaskSuccessEvent, TriggerEvent
from cosmos.listeners.dag_run_listener import EventStatus
from cosmos.operators import watcher as cosmos_watcher
from cosmos.operators._watcher.state import PRODUCER_FINAL_STATES, _log_dbt_event, get_dbt_event_xcom_key
from cosmos.operators._watcher.triggerer import WatcherTrigger

# the event a StartingWatcherTrigger sends when a worker must do what the task's first start would have done
RUN_ON_WORKER = "orchard_run_on_worker"


class EndingWatcherTrigger(WatcherTrigger):
    """Cosmos's WatcherTrigger, ending the task in the triggerer when the node succeeded."""

    def __init__(self, *, end_on_success: bool = True, **kwargs: Any):
        super().__init__(**kwargs)
        self.end_on_success = end_on_success

    @classmethod
    def from_cosmos(cls, trigger: WatcherTrigger, end_on_success: bool) -> EndingWatcherTrigger:
        _, kwargs = trigger.serialize()
        return cls(**kwargs, end_on_success=end_on_success)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        _, kwargs = super().serialize()
        return f"{__name__}.{type(self).__name__}", {**kwargs, "end_on_success": self.end_on_success}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        async for event in super().run():
            if self.end_on_success and ends_here(event.payload):
                # what execute_complete would have logged first, into the same task log
                _log_dbt_event(await self.get_xcom_val(get_dbt_event_xcom_key(self.model_unique_id)))
                # The triggerer writes a trigger's lines to the task's log until it hears the trigger ended,
                # over another channel, and its own log after: so the line names the task and run, to be found
                # in either (airflow.jobs.triggerer_job_runner, TriggerStateChanges.finished).
                self.log.info(
                    "dbt node '%s' succeeded: task %s of run %s (%s) ends here, not on a worker",
                    self.model_unique_id,
                    getattr(self, "task_id", None),  # set with the task instance, in the triggerer
                    self.run_id,
                    self.dag_id,
                )
                yield TaskSuccessEvent()
            else:
                yield event
            return


class StartingWatcherTrigger(EndingWatcherTrigger):
    """The trigger a WATCHER task starts in, in place of a first start on a worker. Its kwargs are the task's,
    fixed when the DAG is parsed (StartTriggerArgs); the run comes from the task instance the triggerer gives
    it. A retry, a cleared task, and a node the producer ended without reporting go to a worker (RUN_ON_WORKER);
    anything else is EndingWatcherTrigger's."""

    def __init__(self, **kwargs: Any):
        for name, unknown_until_run in (("dag_id", ""), ("run_id", ""), ("map_index", -1)):
            kwargs.setdefault(name, unknown_until_run)
        super().__init__(**kwargs)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        ti = self.task_instance
        self.dag_id, self.run_id, self.map_index = ti.dag_id, ti.run_id, ti.map_index
        reason = None
        if ti.try_number > 1:
            reason = f"try {ti.try_number}: Cosmos builds the node itself"
        elif await self._producer_ended_without_the_node():
            reason = "the producer ended without reporting the node"
        if reason:
            self.log.info("dbt node '%s': %s, on a worker", self.model_unique_id, reason)
            yield TriggerEvent({"status": RUN_ON_WORKER})
            return
        async for event in super().run():
            yield event

    async def _producer_ended_without_the_node(self) -> bool:
        if await self._get_producer_task_status() not in PRODUCER_FINAL_STATES:
            return False
        status, _ = await self._parse_dbt_node_status_and_compiled_sql()
        return status is None


def ends_here(payload: Any) -> bool:
    """A plain success: not Cosmos's NODE_NOT_RUN (the producer succeeded without a status for the node),
    which a worker logs, nor any failure or skip."""
    return (
        isinstance(payload, dict)
        and payload.get("status") == EventStatus.SUCCESS
        and not payload.get("reason")
    )


class EndsInTriggerer:
    """Mixin for Cosmos's consumer sensors: their deferral (BaseConsumerSensor._execute_core) goes to
    EndingWatcherTrigger, and a StartingWatcherTrigger's RUN_ON_WORKER runs Cosmos's execute. Nothing else
    changes: poke, execute_complete, retries and fallback runs are Cosmos's.

    The operator attribute is deliberately not named `end_from_trigger`: Airflow refuses a DAG whose task sets
    that with plugin listeners installed (DagBag.bag_dag), and Cosmos's plugin installs its telemetry
    listeners. Those listeners do not hear of a task ended in the triggerer; Orchard turns telemetry off."""

    end_in_triggerer: bool = True

    def defer(self, *, trigger: Any, **kwargs: Any) -> Any:
        if isinstance(trigger, WatcherTrigger) and not isinstance(trigger, EndingWatcherTrigger):
            trigger = EndingWatcherTrigger.from_cosmos(trigger, end_on_success=self.end_in_triggerer)
        return super().defer(trigger=trigger, **kwargs)  # type: ignore[misc]

    def execute_complete(self, context: Any, event: dict[str, Any]) -> None:
        if isinstance(event, dict) and event.get("status") == RUN_ON_WORKER:
            return self.execute(context)  # type: ignore[attr-defined]
        return super().execute_complete(context, event)  # type: ignore[misc]


# Cosmos's class names, so that the UI and whatever looks for "...WatcherOperator" see no difference.
class DbtRunWatcherOperator(EndsInTriggerer, cosmos_watcher.DbtRunWatcherOperator):
    pass


class DbtSeedWatcherOperator(EndsInTriggerer, cosmos_watcher.DbtSeedWatcherOperator):
    pass


class DbtSnapshotWatcherOperator(EndsInTriggerer, cosmos_watcher.DbtSnapshotWatcherOperator):
    pass


class DbtTestWatcherOperator(EndsInTriggerer, cosmos_watcher.DbtTestWatcherOperator):
    pass


ENDING_CLASSES: dict[type, type] = {
    cosmos_watcher.DbtRunWatcherOperator: DbtRunWatcherOperator,
    cosmos_watcher.DbtSeedWatcherOperator: DbtSeedWatcherOperator,
    cosmos_watcher.DbtSnapshotWatcherOperator: DbtSnapshotWatcherOperator,
    cosmos_watcher.DbtTestWatcherOperator: DbtTestWatcherOperator,
}


def run_in_triggerer(task: Any, enabled: bool = True) -> None:
    """Make one of Cosmos's WATCHER consumer tasks start in the triggerer and end there when its node succeeded
    (a class swap: Cosmos builds its tasks from its own classes, and offers no hook for the trigger it defers
    to). Not enabled: Cosmos's own behaviour, a worker start before and after the wait."""
    ending = ENDING_CLASSES.get(type(task))
    if ending is None:
        return
    task.__class__ = ending
    task.end_in_triggerer = enabled
    task.start_from_trigger = enabled
    task.start_trigger_args = (
        StartTriggerArgs(
            trigger_cls=f"{__name__}.{StartingWatcherTrigger.__name__}",
            trigger_kwargs={
                "model_unique_id": task.model_unique_id,
                "producer_task_id": task.producer_task_id,
                "poke_interval": task.poke_interval,
                "is_test_sensor": task.is_test_sensor,
                "end_on_success": True,
            },
            next_method="execute_complete",
        )
        if enabled
        else None
    )
