"""orchard_nightly with the real dbt project and the real dlt loads at a tiny scale: the marts fill.

Rendered per layer (five `dbt build` tasks) to keep the run short; the per-model rendering of the same
DAG is covered by test_nightly_run.py and by `make run`.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from dagtest_helpers import dag_env, run_dag

from orchard.warehouse.client import get_client
from orchard_dev.instacart_sample.generator import write_sample
from orchard_dev.shop_sample.simulator import simulate

pytestmark = [pytest.mark.dags, pytest.mark.slow]


def test_nightly_with_real_loads_and_models_fills_the_marts(
    airflow_home, real_project, dag_warehouse, tmp_path
):
    write_sample(tmp_path / "data" / "instacart", 0.0005, 7)
    simulate(f"sqlite:///{tmp_path / 'shop.sqlite'}", until=date(2026, 11, 19))  # the days the run loads
    env = dag_env(dag_warehouse, tmp_path, ORCHARD_RENDER_GRANULARITY="layer", ORCHARD_TASK_RETRIES="0")
    run = run_dag("orchard_nightly", "2026-11-20T02:00:00+00:00", env)

    failed = {t: s for t, (s, _) in run["tasks"].items() if s != "success"}
    if run["state"] != "success":
        log = tmp_path / "alerts.jsonl"
        errors = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        pytest.fail(f"run failed: {failed}\n" + "\n".join(f"{a['task_id']}: {a['error']}" for a in errors))
    loads = {
        run["xcom"][f"extract_load.load_{s}"]["source"]: run["xcom"][f"extract_load.load_{s}"]
        for s in ("instacart", "shop")
    }
    assert sum(loads["instacart"]["rows"].values()) > 0 and sum(loads["shop"]["rows"].values()) > 0
    client = get_client(dag_warehouse)
    marts = client.query(
        "SELECT name, total_rows FROM system.tables WHERE database = 'marts' AND engine NOT LIKE '%View%'"
    ).result_rows
    assert marts, "no mart was built"
    empty = [name for name, rows in marts if not rows]
    assert "fct_grocery_orders" in dict(marts) and not empty, marts
