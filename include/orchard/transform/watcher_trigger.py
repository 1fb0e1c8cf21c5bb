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

Triggers are stored by class path and kwargs: this module must stay importable by the triggerer, and a
trigger stored before a change of its kwargs must still construct (new kwargs get defaults).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import TaskSuccessEvent, TriggerEvent
from cosmos.listeners.dag_run_listener import EventStatus
from cosmos.operators import watcher as cosmos_watcher
from cosmos.operators._watcher.state import _log_dbt_event, get_dbt_event_xcom_key
from cosmos.operators._watcher.triggerer import WatcherTrigger


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
    EndingWatcherTrigger. Nothing else changes: poke, execute_complete, retries and fallback runs are Cosmos's.

    The operator attribute is deliberately not named `end_from_trigger`: Airflow refuses a DAG whose task sets
    that with plugin listeners installed (DagBag.bag_dag), and Cosmos's plugin installs its telemetry
    listeners. Those listeners do not hear of a task ended in the triggerer; Orchard turns telemetry off."""

    end_in_triggerer: bool = True

    def defer(self, *, trigger: Any, **kwargs: Any) -> Any:
        if isinstance(trigger, WatcherTrigger) and not isinstance(trigger, EndingWatcherTrigger):
            trigger = EndingWatcherTrigger.from_cosmos(trigger, end_on_success=self.end_in_triggerer)
        return super().defer(trigger=trigger, **kwargs)  # type: ignore[misc]


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


def end_in_triggerer(task: Any, enabled: bool = True) -> None:
    """Make one of Cosmos's WATCHER consumer tasks defer to EndingWatcherTrigger (a class swap: Cosmos builds
    its tasks from its own classes, and offers no hook for the trigger it defers to)."""
    ending = ENDING_CLASSES.get(type(task))
    if ending is None:
        return
    task.__class__ = ending
    task.end_in_triggerer = enabled
