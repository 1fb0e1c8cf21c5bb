"""The WATCHER producer pushes the dbt events its consumers read, not every event dbt logs (issue #15).

Cosmos 1.15's producer pushes a node's latest dbt event to XCom (`<node>_dbt_event`) on each of dbt's
NodeStart, NodeCompiling, NodeExecuting and NodeFinished events, from dbt's own threads, one request at a
time under one lock (cosmos.operators._watcher.base._process_dbt_log_event, state.safe_xcom_push). A consumer
reads that key once, when its node has ended, to log the event (execute_complete, poke, and
orchard.transform.watcher_trigger); test tasks read their model's key. So of the ~1,000 event pushes of a
nightly, only the last one of each model, seed and snapshot is ever read. Without the others, dbt's build
inside the producer took 15.9 to 18.7 s instead of 22.1 to 22.3 s at scale 0.01 on two cores
(bench/orchestration, README "Where the orchestration tax goes").

Here the producer's task instance, as Cosmos's log parser sees it, drops a `<node>_dbt_event` push unless the
node is not a test and the event is its last (a terminal status). Every other push (node statuses, tests'
aggregated statuses, compiled SQL, start-up events) and every log line are Cosmos's, unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cosmos.operators import watcher as cosmos_watcher
from cosmos.operators._watcher.state import is_dbt_node_status_terminal

DBT_EVENT_SUFFIX = "_dbt_event"  # cosmos.operators._watcher.state.get_dbt_event_xcom_key
TEST_KEY_PREFIXES = ("test__", "unit_test__")  # a test's unique id, its dots made `__`


def read_by_a_consumer(key: str, value: Any) -> bool:
    """Whether a consumer ever reads this XCom push of the producer."""
    if not key.endswith(DBT_EVENT_SUFFIX):
        return True
    if key.startswith(TEST_KEY_PREFIXES):
        return False
    return isinstance(value, dict) and is_dbt_node_status_terminal(value.get("status"))


class PushesWhatIsRead:
    """The producer's task instance, dropping the pushes no consumer reads; everything else is the task
    instance's own."""

    def __init__(self, task_instance: Any):
        self._task_instance = task_instance

    def __getattr__(self, name: str) -> Any:
        return getattr(self._task_instance, name)

    def xcom_push(self, key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        if not read_by_a_consumer(key, value):
            return None
        return self._task_instance.xcom_push(key, value, *args, **kwargs)


class DbtProducerWatcherOperator(cosmos_watcher.DbtProducerWatcherOperator):
    """Cosmos's producer, whose log parser pushes through PushesWhatIsRead."""

    def _make_parse_callable(self) -> Callable[[str, Any], None]:
        parse = super()._make_parse_callable()
        # the extra kwargs of the run being parsed (one dict per dbt invocation), and them with the filtering
        # task instance: made once per invocation, not once per log line
        seen: dict[str, Any] = {"extra": None, "filtering": None}

        def parse_line(line: str, extra_kwargs: Any) -> None:
            context = extra_kwargs.get("context") if extra_kwargs else None
            if context is None or "ti" not in context:
                return parse(line, extra_kwargs)
            if seen["extra"] is not extra_kwargs:
                ti = PushesWhatIsRead(context["ti"])
                seen["extra"] = extra_kwargs
                seen["filtering"] = {**extra_kwargs, "context": {**context, "ti": ti, "task_instance": ti}}
            return parse(line, seen["filtering"])

        return parse_line


def push_only_what_is_read(task: Any) -> None:
    """Make Cosmos's WATCHER producer task push only what its consumers read (a class swap: Cosmos builds the
    producer from its own class)."""
    if type(task) is cosmos_watcher.DbtProducerWatcherOperator:
        task.__class__ = DbtProducerWatcherOperator
