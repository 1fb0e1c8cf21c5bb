"""The `transform` task group at three granularities, all rendered from the precompiled manifest.

- model: Cosmos DbtTaskGroup, one task per model/seed/snapshot running `dbt build` (the node and its tests).
- tag:   one `dbt build --select tag:<tag>` per tag, wired by the dependencies between the tags' nodes.
- layer: one `dbt build --select tag:<layer>` per layer (seeds, snapshots, staging, intermediate, marts),
         chained in layer order.
"""

from __future__ import annotations

import os
from functools import lru_cache
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

from orchard import settings
from orchard.orchestration.assets import model_asset
from orchard.transform.cosmos_config import (
    execution_config,
    operator_args,
    profile_config,
    project_config,
)
from orchard.transform.manifest import check_manifest, read_manifest
from orchard.transform.watcher_rerun import consumer_starts, producer_starts

LAYERS = ["seeds", "snapshots", "staging", "intermediate", "marts"]
CADENCE_TAGS = {"nightly", "intraday"}
OPS_MARTS = "tag:ops"  # dbt's reports on its own runs: built in `publish`, after the rest (ops_marts_task)
BUILT = {"model", "seed", "snapshot"}
# WATCHER's producer runs the one `dbt build`, in the one-slot build pool. Cosmos skips a producer's retry
# rather than building twice, so it gets none; and it sends no alert of its own: the model task that
# watched a failed node fails and alerts (after its retries, which re-run that node), as in LOCAL mode, so
# one failure pages once. The model tasks only watch: they stay in the warehouse pool, so they report each
# model as the producer finishes it instead of queueing behind it for the build pool's slot.
# Its `pre_execute` and the model tasks' make a cleared run run again (orchard.transform.watcher_rerun).
WATCHER_PRODUCER_ARGS = {
    "retries": 0,
    "on_failure_callback": None,
    "pool": settings.DBT_BUILD_POOL,
    "pre_execute": producer_starts,
}


@lru_cache(maxsize=4)
def _manifest(path: str, mtime: float) -> dict[str, Any]:
    return read_manifest(Path(path))  # checked for staleness by manifest() already


def manifest() -> dict[str, Any]:
    path = check_manifest()
    return _manifest(str(path), path.stat().st_mtime)


def built_nodes(
    data: dict[str, Any], select_tags: list[str], exclude_tags: list[str] = ()
) -> dict[str, dict[str, Any]]:
    """Models, seeds and snapshots of the project carrying every `tag:<x>` selected and no excluded one."""
    wanted = {s.removeprefix("tag:") for s in select_tags if s.startswith("tag:")}
    unwanted = {s.removeprefix("tag:") for s in exclude_tags}
    others = [s for s in [*select_tags, *exclude_tags] if not s.startswith("tag:")]
    if others:
        raise ValueError(f"tag/layer rendering selects by tag only; cannot apply {others}")
    return {
        uid: node
        for uid, node in data["nodes"].items()
        if node["resource_type"] in BUILT
        and node.get("package_name") == "orchard"
        and wanted <= set(node["tags"])
        and not unwanted & set(node["tags"])
    }


def layer_of(node: dict[str, Any]) -> str:
    if node["resource_type"] == "seed":
        return "seeds"
    if node["resource_type"] == "snapshot":
        return "snapshots"
    return node["fqn"][1] if len(node["fqn"]) > 2 else "marts"


def partition(nodes: dict[str, dict[str, Any]], granularity: str) -> dict[str, list[str]]:
    """Group key -> node ids. Per tag, a node with several tags belongs to the first in sorted order."""
    groups: dict[str, list[str]] = {}
    for uid, node in nodes.items():
        if granularity == "layer":
            key = layer_of(node)
        else:
            tags = sorted(set(node["tags"]) - CADENCE_TAGS, key=lambda t: (t not in LAYERS, t))
            key = tags[0] if tags else "untagged"
        groups.setdefault(key, []).append(uid)
    return groups


def group_edges(nodes: dict[str, dict[str, Any]], groups: dict[str, list[str]]) -> dict[str, set[str]]:
    """Group -> the groups it depends on, from the node dependencies in the manifest."""
    owner = {uid: key for key, uids in groups.items() for uid in uids}
    edges: dict[str, set[str]] = {key: set() for key in groups}
    for uid, node in nodes.items():
        for parent in node.get("depends_on", {}).get("nodes", []):
            if parent in owner and owner[parent] != owner[uid]:
                edges[owner[uid]].add(owner[parent])
    return edges


def _grouped(granularity: str, select: list[str], exclude: list[str], full_refresh: Any) -> Any:
    from airflow.sdk import TaskGroup
    from cosmos.constants import InvocationMode
    from cosmos.operators.local import DbtBuildLocalOperator

    data = manifest()
    nodes = built_nodes(data, select, exclude)
    groups = partition(nodes, granularity)
    edges = group_edges(nodes, groups)
    try:
        order = list(TopologicalSorter(edges).static_order())
    except Exception as exc:  # a cycle between tags: the per-tag rendering cannot order them
        raise ValueError(f"cannot order dbt {granularity}s {sorted(groups)}: {exc}") from None
    if granularity == "layer":
        order = sorted(groups, key=lambda k: (LAYERS.index(k) if k in LAYERS else len(LAYERS), k))
    args = operator_args(full_refresh)
    tasks = {}
    with TaskGroup("transform", tooltip=f"dbt build per {granularity}") as group:
        for key in order:
            selector = ",".join([f"tag:{key}", *select]) if key != "untagged" else None
            tasks[key] = DbtBuildLocalOperator(
                task_id=f"build_{key}",
                project_dir=str(settings.DBT_PROJECT_DIR),
                profile_config=profile_config(),
                select=[selector] if selector else sorted(data["nodes"][u]["name"] for u in groups[key]),
                exclude=list(exclude),
                invocation_mode=InvocationMode.DBT_RUNNER,
                outlets=[model_asset(nodes[u]) for u in sorted(groups[key])],
                doc_md=f"`dbt build` of the {len(groups[key])} nodes tagged `{key}` and their tests.",
                emit_datasets=False,
                **args,
            )
        if granularity == "layer":
            for before, after in zip(order, order[1:], strict=False):
                tasks[before] >> tasks[after]
        else:
            for key, parents in edges.items():
                for parent in parents:
                    tasks[parent] >> tasks[key]
    return group


def _per_model(select: list[str], exclude: list[str], full_refresh: Any, execution_mode: str | None) -> Any:
    from cosmos import DbtTaskGroup, LoadMode, RenderConfig, TestBehavior

    data = manifest()
    mode = (execution_mode or settings.EXECUTION_MODE).lower()
    # bench/orchestration compares rendering from the manifest with `dbt ls`; DAGs always use the manifest.
    load_method = (
        LoadMode.DBT_LS if os.environ.get("ORCHARD_COSMOS_LOAD_METHOD") == "dbt_ls" else LoadMode.DBT_MANIFEST
    )
    group = DbtTaskGroup(
        group_id="transform",
        project_config=project_config(),
        profile_config=profile_config(),
        execution_config=execution_config(mode, producer_args=WATCHER_PRODUCER_ARGS),
        render_config=RenderConfig(
            load_method=load_method,
            # LOCAL: one `dbt build` per model (the model and its tests in one task). WATCHER: the producer
            # runs one `dbt build` of everything and the model tasks watch it; it has no per-model build.
            test_behavior=TestBehavior.BUILD if mode == "local" else TestBehavior.AFTER_EACH,
            # A test over two models (relationships) runs in its own task after both: inside one model's
            # `dbt build` it would query a model that is not built yet.
            should_detach_multiple_parents_tests=mode == "local",
            select=list(select),
            exclude=list(exclude),
            emit_datasets=False,
        ),
        operator_args=operator_args(
            full_refresh,
            pool=settings.DBT_BUILD_POOL if mode == "local" else settings.CLICKHOUSE_POOL,
            **({} if mode == "local" else {"pre_execute": consumer_starts}),
        ),
    )
    for uid, task_or_group in group.tasks_map.items():
        node = data["nodes"].get(uid)
        if not node or node["resource_type"] not in BUILT:
            continue
        # A model with tests is a group (its run and its tests) in WATCHER mode; the run task emits the asset.
        children = getattr(task_or_group, "children", {uid: task_or_group}).values()
        for airflow_task in children:
            if getattr(airflow_task, "model_unique_id", uid) == uid and not getattr(
                airflow_task, "is_test_sensor", False
            ):
                airflow_task.outlets = [*airflow_task.outlets, model_asset(node)]
    if mode != "local":
        from orchard.transform.watcher_producer import push_only_what_is_read
        from orchard.transform.watcher_trigger import end_in_triggerer

        for airflow_task in group.iter_tasks():
            # the producer pushes only the XComs a model task reads (issue #15)
            push_only_what_is_read(airflow_task)
            if hasattr(airflow_task, "producer_task_id"):  # a WATCHER model, seed, snapshot or test task
                # Cosmos's 10 s default was half of the lag between dbt finishing a model and its task turning
                # green (bench/orchestration)
                airflow_task.poke_interval = settings.WATCHER_POKE_INTERVAL_S
                # a node that succeeded ends its task in the triggerer: no worker starts the task again
                # only to mark it done (issue #15); failures still resume on a worker, and alert
                end_in_triggerer(airflow_task, settings.WATCHER_END_IN_TRIGGERER)
    return group


def transform_group(
    granularity: str,
    select: list[str],
    full_refresh: Any = False,
    execution_mode: str | None = None,
    exclude: list[str] = (),
) -> Any:
    if granularity == "model":
        return _per_model(select, list(exclude), full_refresh, execution_mode)
    return _grouped(granularity, select, list(exclude), full_refresh)


def ops_marts_task(full_refresh: Any = False, dag_id: str | None = None) -> Any:
    """`dbt build --select tag:ops`: the marts that report on dbt's own runs (test pass rates, model
    durations, freshness). They read what every dbt invocation logs at its end, so they are built once
    the rest of the project has run, and show this run complete (one `dbt build` under WATCHER logs
    its results only when it ends)."""
    from cosmos.constants import InvocationMode
    from cosmos.operators.local import DbtBuildLocalOperator

    from orchard.transform.cosmos_config import partial_parse_dir

    nodes = built_nodes(manifest(), [OPS_MARTS])
    return DbtBuildLocalOperator(
        task_id="ops_marts",
        project_dir=str(settings.DBT_PROJECT_DIR),
        profile_config=profile_config(),
        select=[OPS_MARTS],
        invocation_mode=InvocationMode.DBT_RUNNER,
        outlets=[model_asset(nodes[u]) for u in sorted(nodes)],
        doc_md=ops_marts_task.__doc__,
        emit_datasets=False,
        # the transform group's Cosmos cache: dbt starts from the build's parse of the project (same vars)
        cache_dir=partial_parse_dir(dag_id) if dag_id else None,
        **operator_args(full_refresh),
    )
