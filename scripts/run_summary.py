"""Print what a run of a DAG did: tasks by state, rows loaded per source, dbt models built and tests
passed, where to look next. Exit status 0 only if the run succeeded.

Usage: run_summary.py DAG_ID [RUN_ID [LOGS]]   (without RUN_ID: the latest run)"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import datetime


def dbt_results(since: datetime) -> dict[tuple[str, str], int]:
    """{(resource type, status): nodes} of the dbt invocations since `since`, each node by its latest
    result, from the table the project's on-run-end hook fills."""
    from orchard.transform.manifest import load_manifest, ops_database
    from orchard.warehouse.client import get_client

    client = get_client()
    try:
        rows = client.query(
            "SELECT resource_type, status, count() FROM (SELECT unique_id, any(resource_type) AS resource_type,"
            " argMax(status, invoked_at) AS status"
            f" FROM `{ops_database(load_manifest())}`.dbt_node_results WHERE invoked_at >= toDateTime64(%(since)s, 6, 'UTC')"
            " GROUP BY unique_id) GROUP BY resource_type, status",
            parameters={"since": since.timestamp()},
        ).result_rows
    finally:
        client.close()
    return {(kind, status): count for kind, status, count in rows}


def main(dag_id: str, run_id: str | None = None, log_path: str | None = None) -> int:
    from airflow.models import DagRun, TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from orchard import settings

    with create_session() as session:
        runs = session.query(DagRun).filter(DagRun.dag_id == dag_id)
        if run_id:
            runs = runs.filter(DagRun.run_id == run_id)
        run = runs.order_by(DagRun.start_date.desc()).first()
        if run is None:
            print(f"No run of {dag_id} found.")
            return 1
        tis = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run.run_id).all()
        xcoms = {
            x.task_id: XComModel.deserialize_value(x)
            for x in session.query(XComModel).filter_by(dag_id=dag_id, run_id=run.run_id, key="return_value")
        }
        states = Counter(str(ti.state.value if hasattr(ti.state, "value") else ti.state) for ti in tis)
        failed = sorted(ti.task_id for ti in tis if str(ti.state) in {"failed", "TaskInstanceState.FAILED"})
        print(f"{dag_id} run {run.run_id}: {run.state}")
        print(f"  data interval: {run.data_interval_start} .. {run.data_interval_end}")
        print("  tasks: " + ", ".join(f"{n} {s}" for s, n in sorted(states.items())))
        if failed:
            print("  failed: " + ", ".join(failed))
        for task_id, value in sorted(xcoms.items()):
            if task_id.startswith("extract_load.") and isinstance(value, dict):
                if value.get("skipped"):
                    print(f"  {value.get('source')}: not selected, nothing loaded")
                else:
                    rows = value.get("rows") or {}
                    print(
                        f"  rows loaded from {value.get('source')}: {sum(rows.values()):,} in {len(rows)} tables"
                    )
        dbt = dbt_results(run.start_date)
        print(
            f"  dbt: {dbt.get(('model', 'success'), 0)} models built, {dbt.get(('test', 'pass'), 0)} tests "
            f"passed, {dbt.get(('test', 'fail'), 0)} failed, {dbt.get(('snapshot', 'success'), 0)} snapshots, "
            f"{dbt.get(('seed', 'success'), 0)} seeds"
        )
        bi = xcoms.get("publish.bi_refresh")
        if isinstance(bi, dict):
            print(f"  dashboards checked: {', '.join(sorted(bi)) or 'none'}")
    ch = settings.ClickHouseSettings.from_env()
    print("\nWhere to look:")
    print(f"  marts in the warehouse: {ch.url}  (e.g. SELECT * FROM marts.<table>; ops.dbt_node_results)")
    print(f"  dbt docs: {settings.DBT_DOCS_DIR / 'index.html'}")
    print("  alerts: `orchard alerts tail`")
    if log_path:
        print(f"  Airflow logs: {log_path}")
    print(f"  the Airflow UI: `make up`, then open the printed URL; this run is {run.run_id}")
    return 0 if str(run.state) in {"success", "DagRunState.SUCCESS"} else 1


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:4]))
