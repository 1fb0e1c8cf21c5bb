"""DAG factories: thin DAG files in dags/ call these; every DAG gets the same defaults, notifier and docs.

A pipeline DAG is `extract_load` (one task per source) -> `source_freshness` -> `transform` (the dbt
project via Cosmos, rendered per model, per tag or per layer) -> `publish` (the ops marts, BI refresh,
dbt docs; dbt results reach `ops` through the project's on-run-end hook).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from orchard import settings

settings.disable_telemetry()

from airflow.sdk import DAG, TaskGroup, get_current_context, task  # noqa: E402
from airflow.sdk.definitions.callback import AsyncCallback  # noqa: E402
from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference  # noqa: E402
from airflow.timetables.interval import CronDataIntervalTimetable  # noqa: E402
from airflow.timetables.trigger import CronTriggerTimetable  # noqa: E402

from orchard.orchestration import params as P  # noqa: E402
from orchard.orchestration.assets import raw_assets  # noqa: E402
from orchard.orchestration.dbt_group import OPS_MARTS, ops_marts_task, transform_group  # noqa: E402
from orchard.orchestration.defaults import MAX_ACTIVE_RUNS, dag_callbacks, default_args  # noqa: E402

START_DATE = datetime.fromisoformat(settings.NIGHTLY_START_DATE)
GRANULARITIES = ("model", "tag", "layer")


@dataclass
class PipelineSpec:
    """What differs between the pipeline DAGs."""

    dag_id: str
    schedule: Any
    doc_md: str
    tags: list[str]
    sources: list[str] = field(default_factory=lambda: list(P.SOURCES))
    select: list[str] = field(default_factory=list)  # dbt selection; empty means the whole project
    full_refresh: bool = False
    bounded_loads: bool = True  # loads read only the data interval (False: everything)
    catchup: bool = False
    freshness: bool = True
    publish: bool = True
    deadline: DeadlineAlert | None = None


def _interval(context: dict[str, Any], bounded: bool) -> tuple[datetime | None, datetime | None]:
    if not bounded:
        return None, None
    # A manual run without a logical date has no data interval in Airflow 3: it loads everything.
    return context.get("data_interval_start"), context.get("data_interval_end")


def _extract_load(spec: PipelineSpec) -> TaskGroup:
    with TaskGroup("extract_load", tooltip="dlt loads, one per source, in parallel") as group:
        for source in spec.sources:

            @task(
                task_id=f"load_{source}",
                pool=settings.CLICKHOUSE_POOL,
                outlets=raw_assets(source),
                doc_md=f"Load the {source} source into raw_{source} for the run's data interval (dlt).",
            )
            def load(source: str = source) -> dict[str, Any]:
                from orchard.orchestration.loads import load_source

                context = get_current_context()
                start, end = _interval(context, spec.bounded_loads)
                selected = context["params"].get("sources")
                return load_source(source, start, end, selected)

            load()
    return group


def _source_freshness():
    from orchard.transform.cosmos_config import DBT_VARS

    @task(task_id="source_freshness", pool=settings.CLICKHOUSE_POOL)
    def source_freshness() -> None:
        """`dbt source freshness`: error-level staleness of a raw table fails the task."""
        from orchard.transform.runner import run_dbt

        context = get_current_context()
        run_dbt(["source", "freshness"], dbt_vars=_render_vars(context, DBT_VARS))

    return source_freshness()


def _render_vars(context: dict[str, Any], template: dict[str, str]) -> dict[str, str]:
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    return {
        **template,
        "data_interval_start": start.isoformat() if start else "",
        "data_interval_end": end.isoformat() if end else "",
    }


def _publish(full_refresh: Any) -> TaskGroup:
    with TaskGroup("publish", tooltip="ops marts, BI refresh, dbt docs") as group:
        ops_marts = ops_marts_task(full_refresh)

        @task(task_id="bi_refresh", pool=settings.CLICKHOUSE_POOL)
        def bi_refresh() -> dict[str, dict[str, int]]:
            """Check every mart a dashboard (dbt exposure) reads: it exists and has rows; record the counts."""
            from orchard.bi.refresh import refresh
            from orchard.transform.manifest import load_manifest

            return refresh(load_manifest(), run_id=get_current_context()["run_id"])

        @task(task_id="dbt_docs")
        def dbt_docs() -> str:
            """`dbt docs generate` into the docs folder the Airflow plugin links to."""
            from orchard.transform.runner import run_dbt

            settings.DBT_DOCS_DIR.mkdir(parents=True, exist_ok=True)
            run_dbt(
                ["docs", "generate"],
                target_path=settings.DBT_DOCS_DIR,
                dbt_vars={"enable_grants": settings.DBT_ENABLE_GRANTS},
            )
            return str(settings.DBT_DOCS_DIR / "index.html")

        ops_marts >> bi_refresh() >> dbt_docs()
    return group


def pipeline_dag(
    spec: PipelineSpec, granularity: str | None = None, execution_mode: str | None = None
) -> DAG:
    """extract_load -> source_freshness -> transform -> publish, with Orchard's defaults."""
    granularity = (granularity or settings.RENDER_GRANULARITY).lower()
    if granularity not in GRANULARITIES:
        raise ValueError(
            f"unknown render granularity {granularity!r}: set ORCHARD_RENDER_GRANULARITY to one of {GRANULARITIES}"
        )
    dag = DAG(
        dag_id=spec.dag_id,
        schedule=spec.schedule,
        start_date=START_DATE,
        catchup=spec.catchup,
        max_active_runs=MAX_ACTIVE_RUNS,
        max_active_tasks=8,
        default_args=default_args(),
        doc_md=spec.doc_md,
        tags=["orchard", *spec.tags, f"render:{granularity}"],
        params={"full_refresh": P.full_refresh(spec.full_refresh), "sources": P.sources(spec.sources)},
        deadline=spec.deadline,
        dagrun_timeout=timedelta(hours=6),
        **dag_callbacks(),
    )
    with dag:
        loads = _extract_load(spec)
        full_refresh = True if spec.full_refresh else "{{ params.full_refresh }}"
        transform = transform_group(
            granularity=granularity,
            select=spec.select,
            full_refresh=full_refresh,
            execution_mode=execution_mode,
            exclude=[OPS_MARTS] if spec.publish else [],
        )
        if spec.freshness:
            # Freshness gates the models: nothing is rebuilt on stale sources, and the ops marts
            # (built in `publish`) hold this run's freshness results.
            loads >> _source_freshness() >> transform
        else:
            loads >> transform
        if spec.publish:
            transform >> _publish(full_refresh)
    return dag


def nightly_deadline() -> DeadlineAlert:
    """Alert when orchard_nightly has not finished by 06:00 UTC: 4 h after its 02:00 UTC queueing.

    Measured from when the run is queued (not from its logical date), so a backfill of an old date
    gets the same four hours instead of alerting at once. ORCHARD_NIGHTLY_DEADLINE_AFTER_S changes the
    four hours (the e2e tests shorten it to see the alert fire).
    """
    after = timedelta(seconds=settings.NIGHTLY_DEADLINE_AFTER_S)
    due = "06:00 UTC" if after == timedelta(hours=4) else f"{after} after it was queued"
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=after,
        callback=AsyncCallback(
            "orchard.alerting.notifier.deadline_missed",
            kwargs={"dag_id": "orchard_nightly", "deadline": due},
        ),
        name="orchard_nightly_by_0600_utc",
    )


NIGHTLY_DOC = """
### orchard_nightly
Loads yesterday's data and rebuilds the warehouse, every night at 02:00 UTC for the day that ended.

1. **extract_load** — one dlt load per source (`instacart`, `shop`), bounded by the run's data interval.
2. **source_freshness** — `dbt source freshness`; error-level staleness fails the run before any model.
3. **transform** — the dbt project (seeds, snapshots, one task per model with its tests), rendered by
   Cosmos from the precompiled manifest (`orchard dbt manifest`). dbt vars `data_interval_start`/`data_interval_end` carry the interval.
4. **publish** — the `ops` marts (dbt's reports on its own runs, this one included), BI refresh (marts
   behind the dashboards), `dbt docs generate`, dbt results into `ops`.

Catchup is on: a backfill is one run per date, each loading and rebuilding its own date.
Params: `full_refresh` (dbt --full-refresh), `sources` (which loads run).
Failure alerts go to the channels in the `orchard_slack`, `orchard_smtp`, `orchard_webhook` connections,
or to `orchard alerts tail`. A deadline alert fires if the run has not finished by 06:00 UTC.
"""


def nightly_dag(**kwargs: Any) -> DAG:
    spec = PipelineSpec(
        dag_id="orchard_nightly",
        schedule=CronDataIntervalTimetable("0 2 * * *", timezone="UTC"),
        doc_md=NIGHTLY_DOC,
        tags=["nightly"],
        catchup=settings.NIGHTLY_CATCHUP,
        deadline=nightly_deadline() if settings.DEADLINE_ALERTS else None,
    )
    return pipeline_dag(spec, **kwargs)


def intraday_dag(**kwargs: Any) -> DAG:
    spec = PipelineSpec(
        dag_id="orchard_intraday",
        # 08:00, 12:00, 16:00, 20:00 UTC on weekdays; each run covers the 4 hours before it.
        schedule=CronTriggerTimetable("0 8-20/4 * * 1-5", timezone="UTC", interval=timedelta(hours=4)),
        doc_md=(
            "### orchard_intraday\nEvery 4 hours 08:00-20:00 UTC on weekdays: incremental load of the shop "
            "database for the last 4 hours, then the dbt models tagged `intraday`. No docs or BI refresh."
        ),
        tags=["intraday"],
        sources=["shop"],
        select=["tag:intraday"],
        freshness=False,
        publish=False,
    )
    return pipeline_dag(spec, **kwargs)


def full_refresh_dag(**kwargs: Any) -> DAG:
    spec = PipelineSpec(
        dag_id="orchard_full_refresh",
        schedule=CronTriggerTimetable("0 1 * * 0", timezone="UTC"),
        doc_md=(
            "### orchard_full_refresh\nSundays 01:00 UTC: reload every source in full and rebuild the whole "
            "dbt project with `--full-refresh` (incremental models and snapshots from scratch)."
        ),
        tags=["full-refresh"],
        full_refresh=True,
        bounded_loads=False,
    )
    return pipeline_dag(spec, **kwargs)


def adhoc_dag() -> DAG:
    """One validated `dbt build --select <param>`: Cosmos cannot template the selection of a task group."""
    from orchard.orchestration.adhoc import adhoc_build

    dag = DAG(
        dag_id="orchard_adhoc",
        schedule=None,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(retries=0),
        doc_md=(
            "### orchard_adhoc\nBuild only a selection of the dbt project: trigger with `select` (a dbt "
            "selector such as `+fct_grocery_orders` or `tag:marts`) and optionally `full_refresh`. The selector "
            "is checked with `dbt ls` first; an invalid or empty selection fails with dbt's message."
        ),
        tags=["orchard", "adhoc"],
        params={"select": P.select(), "full_refresh": P.full_refresh()},
        **dag_callbacks(),
    )
    with dag:
        adhoc_build()
    return dag
