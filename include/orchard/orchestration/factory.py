"""The pipeline DAG builder: a DAG file in dags/ states a PipelineSpec and its shape with Pipeline's task
groups; every DAG gets the same defaults, notifier, params and render settings from here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, TaskGroup, get_current_context, task
from airflow.sdk.definitions.callback import AsyncCallback
from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

from orchard import settings
from orchard.orchestration import params
from orchard.orchestration.assets import raw_assets
from orchard.orchestration.dbt_group import OPS_MARTS, ops_marts_task, transform_group
from orchard.orchestration.defaults import MAX_ACTIVE_RUNS, dag_callbacks, default_args

START_DATE = datetime.fromisoformat(settings.NIGHTLY_START_DATE)
GRANULARITIES = ("model", "tag", "layer")


@dataclass
class PipelineSpec:
    """What a pipeline DAG file states: when it runs, what it loads and which dbt nodes it builds."""

    dag_id: str
    schedule: Any
    doc_md: str
    tags: list[str]
    sources: list[str] = field(default_factory=lambda: list(params.SOURCES))
    select: list[str] = field(default_factory=list)  # dbt selection; empty means the whole project
    full_refresh: bool = False
    bounded_loads: bool = True  # loads read only the data interval (False: everything)
    catchup: bool = False
    deadline: DeadlineAlert | None = None


def _interval(context: dict[str, Any], bounded: bool) -> tuple[datetime | None, datetime | None]:
    if not bounded:
        return None, None
    # A manual run without a logical date has no data interval in Airflow 3: it loads everything.
    return context.get("data_interval_start"), context.get("data_interval_end")


def _render_vars(context: dict[str, Any], template: dict[str, str]) -> dict[str, str]:
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    return {
        **template,
        "data_interval_start": start.isoformat() if start else "",
        "data_interval_end": end.isoformat() if end else "",
    }


class Pipeline:
    """A pipeline DAG being built: a DAG file opens `with Pipeline(spec) as pipeline:` and states its shape
    with the task groups below, e.g. `pipeline.extract_load() >> pipeline.transform()`."""

    def __init__(self, spec: PipelineSpec):
        self.spec = spec
        self.granularity = settings.RENDER_GRANULARITY.lower()
        if self.granularity not in GRANULARITIES:
            raise ValueError(
                f"unknown render granularity {self.granularity!r}: set ORCHARD_RENDER_GRANULARITY to one of "
                f"{GRANULARITIES}"
            )
        # a template unless the DAG always rebuilds from scratch
        self.full_refresh: Any = True if spec.full_refresh else "{{ params.full_refresh }}"
        self.dag = DAG(
            dag_id=spec.dag_id,
            schedule=spec.schedule,
            start_date=START_DATE,
            catchup=spec.catchup,
            max_active_runs=MAX_ACTIVE_RUNS,
            max_active_tasks=8,
            default_args=default_args(),
            doc_md=spec.doc_md,
            tags=["orchard", *spec.tags, f"render:{self.granularity}"],
            params={
                "full_refresh": params.full_refresh(spec.full_refresh),
                "sources": params.sources(spec.sources),
            },
            deadline=spec.deadline,
            dagrun_timeout=timedelta(hours=6),
            **dag_callbacks(),
        )

    def __enter__(self) -> Pipeline:
        self.dag.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.dag.__exit__(*exc)

    def extract_load(self) -> TaskGroup:
        """One dlt load per source of the spec, in parallel, each bounded by the run's data interval."""
        with TaskGroup("extract_load", tooltip="dlt loads, one per source, in parallel") as group:
            for source in self.spec.sources:
                self._load_task(source)
        return group

    def _load_task(self, source: str) -> Any:
        bounded = self.spec.bounded_loads

        @task(
            task_id=f"load_{source}",
            pool=settings.CLICKHOUSE_POOL,
            outlets=raw_assets(source),
            doc_md=f"Load the {source} source into its raw database for the run's data interval (dlt).",
        )
        def load() -> dict[str, Any]:
            from orchard.orchestration.loads import load_source

            context = get_current_context()
            start, end = _interval(context, bounded)
            return load_source(source, start, end, context["params"].get("sources"))

        return load()

    def source_freshness(self) -> Any:
        """`dbt source freshness`: error-level staleness of a raw table fails the task, so it gates the models."""
        from orchard.transform.cosmos_config import DBT_VARS

        @task(task_id="source_freshness", pool=settings.CLICKHOUSE_POOL)
        def source_freshness() -> None:
            """`dbt source freshness`: error-level staleness of a raw table fails the task."""
            from orchard.transform.cosmos_config import partial_parse_dir
            from orchard.transform.runner import run_dbt

            context = get_current_context()
            # it parses the project first in the run: the transform group's dbt build starts from its parse
            run_dbt(
                ["source", "freshness"],
                dbt_vars=_render_vars(context, DBT_VARS),
                partial_parse_dir=partial_parse_dir(context["dag"].dag_id),
            )

        return source_freshness()

    def transform(self) -> Any:
        """The spec's dbt selection through Cosmos, except the ops marts, which `publish` builds last."""
        return transform_group(
            granularity=self.granularity,
            select=self.spec.select,
            full_refresh=self.full_refresh,
            exclude=[OPS_MARTS],
        )

    def publish(self) -> TaskGroup:
        """The ops marts (dbt's reports on its own runs, this one included), then the BI refresh; dbt docs
        beside them: docs need the built project, not the ops marts, and took 20 s of the critical path."""
        with TaskGroup("publish", tooltip="ops marts, BI refresh, dbt docs") as group:
            ops_marts_task(self.full_refresh, dag_id=self.spec.dag_id) >> _bi_refresh()
            _dbt_docs()
        return group


def _bi_refresh() -> Any:
    @task(task_id="bi_refresh", pool=settings.CLICKHOUSE_POOL)
    def bi_refresh() -> dict[str, dict[str, int]]:
        """Check every mart a dashboard (dbt exposure) reads: it exists and has rows; record the counts."""
        from orchard.bi.refresh import refresh
        from orchard.transform.manifest import load_manifest

        return refresh(load_manifest(), run_id=get_current_context()["run_id"])

    return bi_refresh()


def _dbt_docs() -> Any:
    @task(task_id="dbt_docs")
    def dbt_docs() -> str:
        """`dbt docs generate` into the docs folder the Airflow plugin links to."""
        from orchard.transform.cosmos_config import DBT_VARS, partial_parse_dir
        from orchard.transform.runner import run_dbt

        context = get_current_context()
        settings.DBT_DOCS_DIR.mkdir(parents=True, exist_ok=True)
        # the run's vars, as the run's other dbt tasks: dbt reuses their parse only when the vars are the same
        run_dbt(
            ["docs", "generate"],
            target_path=settings.DBT_DOCS_DIR,
            dbt_vars=_render_vars(context, DBT_VARS),
            partial_parse_dir=partial_parse_dir(context["dag"].dag_id),
        )
        return str(settings.DBT_DOCS_DIR / "index.html")

    return dbt_docs()


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
