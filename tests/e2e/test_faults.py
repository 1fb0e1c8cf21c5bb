"""Faults inside a run of orchard_nightly on the session's deployment, injected for real: the warehouse
SIGKILLed while a load runs and while dbt builds, the scheduler SIGKILLed and started again under a run in
flight, and the same logical date run twice. One run (one logical date) carries them all, attempt after
attempt, to spare the tier a nightly per fault; whatever is killed is started again in a `finally`, so a
failure here leaves the deployment whole for the tests after it.

How Airflow 3 and Cosmos take it: the e2e deployment gives tasks no retries (ORCHARD_TASK_RETRIES=0), so a
killed task fails and pages at once, and the run is cleared (as from the UI) to run again: a cleared run
keeps its run id and logical date, where a second trigger of the same logical date is refused. Cosmos's
WATCHER producer never runs a second `dbt build`: in a cleared run each cleared model task builds its own
model (Orchard's hooks in orchard.transform.watcher_rerun drop the earlier build's node statuses).
"""

from __future__ import annotations

import os
import re
import signal
import time
import urllib.error
from datetime import UTC, datetime
from pathlib import Path

import pytest
from run_checks import warehouse_checksums

from orchard.settings import ClickHouseSettings
from orchard.warehouse.client import get_client

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DAG = "orchard_nightly"
# A date no other e2e test runs (the tiny project fails for the interval ending 2026-11-05).
FAULT_DATE = "2026-11-26T02:00:00Z"
BUILT_DATABASES = ("seeds", "snapshots", "intermediate", "marts")
RAW_DATABASES = ("raw_shop", "raw_instacart")
PRODUCER = "transform.dbt_producer_watcher"
CHANNELS = ("slack", "webhook", "email")


def _kill(pid_file: Path, group: bool = False) -> int:
    """SIGKILL the process (or its process group) a pid file names; wait until it is gone."""
    pid = int(pid_file.read_text().split()[0])
    os.killpg(pid, signal.SIGKILL) if group else os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return pid


def _task_log(airflow_up, run_id: str, task_id: str, attempt: int) -> str:
    """The log a worker wrote of a task's try `attempt` (or a later one), '' while there is none (a WATCHER
    task's trigger writes attempt=N.log.trigger.<job>.log beside it)."""
    folder = airflow_up.task_log_folder(DAG, run_id, task_id)
    names = (re.fullmatch(r"attempt=(\d+)\.log", p.name) for p in folder.glob("attempt=*.log"))
    logs = {int(m[1]): folder / m[0] for m in names if m}
    tries = sorted(n for n in logs if n >= attempt)
    return logs[tries[-1]].read_text(errors="replace") if tries else ""


def _when_task_logs(airflow_up, run_id: str, task_id: str, text: str, attempt: int = 1, timeout: float = 300):
    """Wait until try `attempt` of the task runs and its log holds `text`: the moment to inject a fault."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in _task_log(airflow_up, run_id, task_id, attempt):
            return
        time.sleep(0.2)
    states = airflow_up.where_runs_stand(DAG, {run_id})
    raise AssertionError(f"{task_id} never logged {text!r} within {timeout:.0f} s:\n{states}")


def _warehouse_killed(airflow_up, run_id: str) -> dict[str, str]:
    """SIGKILL the warehouse, wait for the run to fail, start the warehouse again: the run's task states."""
    _kill(airflow_up.state / "warehouse.pid")
    assert _finish(airflow_up, run_id)["state"] == "failed"
    states = _states(airflow_up, run_id)
    airflow_up.script("restart", "warehouse")
    return states


def _clear(airflow_up, run_id: str, only_failed: bool) -> None:
    """Clear the run's tasks (the failed ones, or all) to run them again, as the UI's Clear does. Orchard's
    WATCHER hooks (orchard.transform.watcher_rerun) keep cleared model tasks from reading the node statuses
    of the producer's earlier build: each builds its own model, or waits for a producer that never built."""
    airflow_up.api(
        "POST",
        f"/dags/{DAG}/clearTaskInstances",
        {"dag_run_id": run_id, "dry_run": False, "only_failed": only_failed, "reset_dag_runs": True},
    )


def _finish(airflow_up, run_id: str) -> dict:
    return airflow_up.wait_for_runs(DAG, {run_id}, timeout=900)[run_id]


def _states(airflow_up, run_id: str) -> dict[str, str]:
    return {task: ti["state"] for task, ti in airflow_up.task_instances(DAG, run_id).items()}


def _client(airflow_up):
    return get_client(ClickHouseSettings.from_env(airflow_up.env))


def _half_built(client) -> list[str]:
    """Tables dbt-clickhouse builds beside the live one before its swap (or keeps after it)."""
    return [
        f"{d}.{n}"
        for d, n in client.query(
            "SELECT database, name FROM system.tables WHERE database IN %(dbs)s"
            " AND match(name, '__dbt_(tmp|backup|new_data|distributed)')",
            parameters={"dbs": [*BUILT_DATABASES, "staging"]},
        ).result_rows
    ]


def _built_since(client, since: datetime) -> dict[str, int]:
    """unique_id -> how many times dbt built that model, seed or snapshot since `since` (the node results
    every dbt invocation logs in its on-run-end hook)."""
    rows = client.query(
        "SELECT unique_id, count() FROM ops.dbt_node_results WHERE invoked_at >= toDateTime64(%(s)s, 6, 'UTC')"
        " AND resource_type IN ('model', 'seed', 'snapshot') GROUP BY unique_id",
        parameters={"s": since.timestamp()},
    ).result_rows
    return {uid: int(n) for uid, n in rows}


def _paged_tasks(airflow_up, run_id: str) -> dict[str, list[str]]:
    """channel -> the task of each task_failed alert about the run, one entry per alert, sorted."""
    return {
        channel: sorted(text.split(f"task failed: {DAG}.", 1)[1].split()[0] for text in texts)
        for channel, texts in airflow_up.alerts("task_failed", run_id).items()
    }


def _alert_counts(airflow_up, run_id: str) -> dict[str, dict[str, int]]:
    return {
        kind: {channel: len(texts) for channel, texts in airflow_up.alerts(kind, run_id).items()}
        for kind in ("task_failed", "run_failed", "deadline_missed")
    }


def _settled_alerts(airflow_up, run_id: str, expected: dict[str, int], timeout: float = 180) -> dict:
    """Alert counts once every channel has at least `expected` ({kind: alerts}) about the run, and a little
    later, to catch a duplicate (task processes, the dag-processor and the triggerer send them a while
    after a run ends)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = _alert_counts(airflow_up, run_id)
        if all(n >= want for kind, want in expected.items() for n in counts[kind].values()):
            break
        time.sleep(2)
    time.sleep(5)
    return _alert_counts(airflow_up, run_id)


@pytest.mark.reliability(
    fault="the warehouse is killed (SIGKILL) while `orchard_nightly` loads",
    behaviour="the load fails and pages once per channel, nothing downstream runs; with the warehouse "
    "started again, the cleared run leaves exactly the source's rows in the raw tables",
)
@pytest.mark.reliability(
    fault="the warehouse is killed (SIGKILL) while dbt builds in `orchard_nightly`",
    behaviour="the build fails and each failed task pages once; the tables it was replacing stay whole; "
    "cleared as from the UI, the run completes with marts equal "
    "to a clean rerun's and no half-built table left",
)
@pytest.mark.reliability(
    fault="the scheduler is killed (SIGKILL) and started again while a nightly run is in flight",
    behaviour="the run completes; no model, seed or snapshot is built twice (dbt's logged node results)",
)
@pytest.mark.reliability(
    fault="the same logical date run twice (the run cleared and run again)",
    behaviour="every mart and raw table identical (per-table checksums), snapshots not grown, no alert "
    "repeated",
)
def test_warehouse_and_scheduler_killed_mid_run_then_the_date_rerun(airflow_up):
    airflow_up.fail_if_stuck()
    pids = airflow_up.state / "airflow" / "pids"
    airflow_up.api("PATCH", f"/dags/{DAG}", {"is_paused": False})
    airflow_up.wait_for_backfills_to_complete(DAG)
    busy = {r["dag_run_id"] for r in airflow_up.runs(DAG) if r["state"] not in ("success", "failed")}
    airflow_up.wait_for_runs(DAG, busy, timeout=900)  # max_active_runs is 1: ours would queue behind them

    run_id = airflow_up.api(
        "POST", f"/dags/{DAG}/dagRuns", {"logical_date": FAULT_DATE, "conf": {"sources": ["shop"]}}
    )["dag_run_id"]
    try:
        # 1. the warehouse dies while load_shop runs: the load fails, pages once, nothing downstream runs
        # at once: on a quiet machine the shop's load is done 2 s after its task starts (a kill mid-insert is
        # tests/reliability/test_load_killed.py's)
        _when_task_logs(airflow_up, run_id, "extract_load.load_shop", "Worker startup parse complete")
        states = _warehouse_killed(airflow_up, run_id)
        assert states["extract_load.load_shop"] == "failed", states
        assert states[PRODUCER] == "upstream_failed", states
        failed_1 = sorted(t for t, st in states.items() if st == "failed")
        alerts_1 = _settled_alerts(airflow_up, run_id, {"task_failed": len(failed_1), "run_failed": 1})
        assert "extract_load.load_shop" in failed_1, states
        assert _paged_tasks(airflow_up, run_id) == {c: failed_1 for c in CHANNELS}  # each failed task once
        assert alerts_1["run_failed"] == {c: 1 for c in CHANNELS}, alerts_1

        # 2. cleared: the load runs again; the warehouse dies while the producer's `dbt build` runs
        _clear(airflow_up, run_id, only_failed=True)
        _when_task_logs(airflow_up, run_id, PRODUCER, "START sql table model `intermediate`")
        states = _warehouse_killed(airflow_up, run_id)
        assert states["extract_load.load_shop"] == "success", states
        assert states[PRODUCER] == "failed", states
        failed_2 = sorted(
            t for t, st in _states(airflow_up, run_id).items() if st == "failed" and t != PRODUCER
        )
        alerts_2 = _settled_alerts(
            airflow_up, run_id, {"task_failed": len(failed_1) + len(failed_2), "run_failed": 2}
        )
        # the producer sends none: the model tasks that watched its nodes fail and page, each once
        paged = {
            c: sorted(t for t in tasks if t != PRODUCER)
            for c, tasks in _paged_tasks(airflow_up, run_id).items()
        }
        expected = sorted([*failed_1, *failed_2])
        assert paged == {c: expected for c in CHANNELS}, (failed_2, paged)
        assert alerts_2["run_failed"] == {c: 2 for c in CHANNELS}, alerts_2  # one per failed attempt
        with _client(airflow_up) as client:  # the tables the killed build was replacing: still whole
            for table in ("intermediate.int_tiny__labelled", "marts.fct_tiny"):
                if int(client.command(f"EXISTS TABLE {table}")):  # built by an earlier run of the session
                    assert int(client.command(f"SELECT count() FROM {table}")) == 10, table

        # 3. cleared again: the scheduler dies (SIGKILL) under the run and starts again; the run completes
        _clear(airflow_up, run_id, only_failed=True)
        rerun_from = datetime.now(UTC)
        _when_task_logs(airflow_up, run_id, "transform.int_tiny__labelled_run", "Try number", attempt=2)
        _kill(pids / "scheduler.pid", group=True)
        time.sleep(3)
        airflow_up.script("restart", "scheduler")
        assert _finish(airflow_up, run_id)["state"] == "success", airflow_up.where_runs_stand(DAG, {run_id})
        with _client(airflow_up) as client:
            built = _built_since(client, rerun_from)
            assert built and set(built.values()) == {1}, built
            assert _half_built(client) == []
            recovered = warehouse_checksums(client, BUILT_DATABASES + RAW_DATABASES)
        # (no alert since the second attempt's: checked once, after the fourth)

        # 4. the same logical date again, cleared whole and run without faults: nothing changes
        _clear(airflow_up, run_id, only_failed=False)
        assert _finish(airflow_up, run_id)["state"] == "success", airflow_up.where_runs_stand(DAG, {run_id})
        with _client(airflow_up) as client:
            again = warehouse_checksums(client, BUILT_DATABASES + RAW_DATABASES)
            assert _half_built(client) == []
        assert again == recovered
        assert {t: n for t, n in again.items() if t.startswith("snapshots.")}, again
        alerts_4 = _settled_alerts(airflow_up, run_id, {})
        for kind in ("task_failed", "run_failed"):  # nothing paged since the second attempt's failure
            assert alerts_4[kind] == alerts_2[kind], (kind, alerts_2, alerts_4)
        # a second trigger of the same logical date is refused (clearing is how a date runs again)
        with pytest.raises(urllib.error.HTTPError) as refused:
            airflow_up.api("POST", f"/dags/{DAG}/dagRuns", {"logical_date": FAULT_DATE})
        assert refused.value.code == 409, refused.value
        # every shop row of the run's interval and before it is in the raw tables, once; later rows are a
        # later run's to load (the session's scheduled run may or may not have loaded them)
        end = datetime.fromisoformat(
            airflow_up.api("GET", f"/dags/{DAG}/dagRuns/{run_id}")["data_interval_end"]
        )
        with _client(airflow_up) as client:
            assert _shop_rows_lost_or_doubled(airflow_up, client, end) == {}
    finally:
        _restore(airflow_up)


def _shop_rows_lost_or_doubled(airflow_up, client, end: datetime) -> dict[str, dict[str, list]]:
    """Per shop table with a primary key and `updated_at`: the keys of source rows stamped before `end` that
    raw_shop lacks, the raw keys held more than once (ReplacingMergeTree read FINAL), and raw keys the source
    does not have. Empty when every row is there once."""
    import sqlalchemy as sa

    from orchard.sources.shop.helpers import CURSOR
    from orchard.sources.shop.settings import SKIP_TABLES

    url = airflow_up.env.get("ORCHARD_SHOP_DB_URL") or f"sqlite:///{airflow_up.state / 'shop.sqlite'}"
    engine = sa.create_engine(url)
    problems: dict[str, dict[str, list]] = {}
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            for table in sorted(set(inspector.get_table_names()) - SKIP_TABLES):
                key = inspector.get_pk_constraint(table).get("constrained_columns") or []
                if not key or CURSOR not in {c["name"] for c in inspector.get_columns(table)}:
                    continue
                cols = ", ".join(f'"{k}"' for k in key)
                source = {tuple(r) for r in conn.execute(sa.text(f'SELECT {cols} FROM "{table}"'))}
                before_end = {
                    tuple(r[:-1])
                    for r in conn.execute(sa.text(f'SELECT {cols}, "{CURSOR}" FROM "{table}"'))
                    if r[-1].replace(tzinfo=UTC) < end
                }
                engine_name = client.command(
                    f"SELECT engine FROM system.tables WHERE database = 'raw_shop' AND name = '{table}'"
                )
                final = " FINAL" if "Replacing" in str(engine_name) else ""
                raw = [
                    tuple(r)
                    for r in client.query(
                        f"SELECT {', '.join(f'`{k}`' for k in key)} FROM raw_shop.`{table}`{final}"
                    ).result_rows
                ]
                found = {
                    "lost": sorted(before_end - set(raw))[:5],
                    "doubled": sorted({k for k in raw if raw.count(k) > 1})[:5]
                    if len(raw) != len(set(raw))
                    else [],
                    "not_in_source": sorted(set(raw) - source)[:5],
                }
                if any(found.values()):
                    problems[table] = found
    finally:
        engine.dispose()
    return problems


def _restore(airflow_up) -> None:
    """Start again whatever a fault left stopped: the warehouse and the scheduler."""
    from orchard.warehouse.lifecycle import ping

    ch = ClickHouseSettings.from_env(airflow_up.env)
    if not ping(ch.host, ch.port):
        airflow_up.script("restart", "warehouse")
    scheduler = airflow_up.state / "airflow" / "pids" / "scheduler.pid"
    pid = int(scheduler.read_text()) if scheduler.exists() else 0
    if not pid or not Path(f"/proc/{pid}").exists():
        airflow_up.script("restart", "scheduler")
