"""
### orchard_nightly
Loads yesterday's data and rebuilds the warehouse, every night at 02:00 UTC for the day that ended.

1. **extract_load** — one dlt load per source, bounded by the run's data interval.
2. **source_freshness** — `dbt source freshness`; error-level staleness fails the run before any model.
3. **transform** — the dbt project (seeds, snapshots, one task per model with its tests), rendered by
   Cosmos from the precompiled manifest (`orchard dbt manifest`).
4. **publish** — the `ops` marts (dbt's reports on its own runs, this one included), BI refresh, dbt docs.

Catchup is on: a backfill is one run per date. Params: `full_refresh`, `sources` (which loads run).
Failure alerts go to the `orchard_slack`, `orchard_smtp`, `orchard_webhook` connections, or to
`orchard alerts tail`; a deadline alert fires if the run has not finished by 06:00 UTC.
"""

from airflow.timetables.interval import CronDataIntervalTimetable

from orchard import settings
from orchard.orchestration.factory import Pipeline, PipelineSpec, nightly_deadline

NIGHTLY = PipelineSpec(
    dag_id="orchard_nightly",
    schedule=CronDataIntervalTimetable("0 2 * * *", timezone="UTC"),
    catchup=settings.NIGHTLY_CATCHUP,
    deadline=nightly_deadline() if settings.DEADLINE_ALERTS else None,
    doc_md=__doc__,
    tags=["nightly"],
)


with Pipeline(NIGHTLY) as pipeline:
    pipeline.extract_load() >> pipeline.source_freshness() >> pipeline.transform() >> pipeline.publish()

dag = pipeline.dag
