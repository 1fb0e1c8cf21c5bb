"""
### orchard_intraday
Every 4 hours 08:00-20:00 UTC on weekdays: incremental load of the shop database for the last 4 hours,
then the dbt models tagged `intraday`. No freshness gate, docs or BI refresh.
"""

from datetime import timedelta

from airflow.timetables.trigger import CronTriggerTimetable

from orchard.orchestration.factory import Pipeline, PipelineSpec

INTRADAY = PipelineSpec(
    dag_id="orchard_intraday",
    # 08:00, 12:00, 16:00, 20:00 UTC on weekdays; each run covers the 4 hours before it.
    schedule=CronTriggerTimetable("0 8-20/4 * * 1-5", timezone="UTC", interval=timedelta(hours=4)),
    sources=["shop"],
    select=["tag:intraday"],
    doc_md=__doc__,
    tags=["intraday"],
)


with Pipeline(INTRADAY) as pipeline:
    pipeline.extract_load() >> pipeline.transform()

dag = pipeline.dag
