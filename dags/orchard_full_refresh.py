"""
### orchard_full_refresh
Sundays 01:00 UTC: reload every source in full and rebuild the whole dbt project with `--full-refresh`
(incremental models and snapshots from scratch).
"""

from airflow.timetables.trigger import CronTriggerTimetable

from orchard.orchestration.factory import Pipeline, PipelineSpec

FULL_REFRESH = PipelineSpec(
    dag_id="orchard_full_refresh",
    schedule=CronTriggerTimetable("0 1 * * 0", timezone="UTC"),
    full_refresh=True,
    bounded_loads=False,
    doc_md=__doc__,
    tags=["full-refresh"],
)


with Pipeline(FULL_REFRESH) as pipeline:
    pipeline.extract_load() >> pipeline.source_freshness() >> pipeline.transform() >> pipeline.publish()

dag = pipeline.dag
