"""A dbt process SIGKILLed while it builds a table model: the previous table is still served, whole, and
the rerun succeeds. dbt-clickhouse builds the new table beside the old one and swaps them atomically."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).parents[1] / "fixtures" / "dbt_small"
# 8 rows in one block, 0.3 s each: the CREATE ... AS SELECT runs for 2.4 s, a window to kill dbt in
SLOW_MODEL = """{{ config(materialized='table', engine='MergeTree()', order_by='n') }}
select number as n, {{ var('version', 1) }} as version, sleepEachRow(0.3) as pause from numbers(8)
"""


def dbt(project: Path, schema: str, version: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dbt"),
            "run",
            "--select",
            "slow_table",
            "--vars",
            f"{{version: {version}}}",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "WAREHOUSE_CHECK_SCHEMA": schema},
    )


def building(ch) -> bool:
    query = "SELECT count() FROM system.processes WHERE query LIKE '%sleepEachRow%' AND query NOT LIKE '%system.processes%'"
    return ch.command(query) > 0


@pytest.mark.reliability(
    fault="a dbt build killed (SIGKILL) while it builds a table model",
    behaviour="the previous table is still served, whole; the rerun succeeds and replaces it",
)
def test_dbt_killed_mid_build_keeps_the_previous_table(warehouse, ch, tmp_path):
    project = tmp_path / "dbt"
    shutil.copytree(PROJECT, project)
    (project / "models" / "slow_table.sql").write_text(SLOW_MODEL)
    schema = f"killed_{uuid.uuid4().hex[:8]}"

    # the previous night's table, as dbt built it (made directly: one dbt start less on a 2-core machine)
    ch.command(f"CREATE DATABASE `{schema}`")
    ch.command(
        f"CREATE TABLE `{schema}`.slow_table ENGINE = MergeTree() ORDER BY n "
        "AS SELECT number AS n, 1 AS version, 0 AS pause FROM numbers(8)"
    )
    served = f"SELECT version, count() FROM `{schema}`.slow_table GROUP BY version"
    assert ch.query(served).result_rows == [(1, 8)]

    second = dbt(project, schema, 2)
    deadline = time.monotonic() + 300
    while not building(ch):
        assert second.poll() is None, (
            "dbt finished before it could be killed: " + second.communicate()[0][-2000:]
        )
        assert time.monotonic() < deadline, "dbt never started building slow_table"
        time.sleep(0.05)
    second.send_signal(signal.SIGKILL)
    second.communicate(timeout=60)
    assert second.returncode == -signal.SIGKILL

    assert ch.query(served).result_rows == [(1, 8)]  # mid-build: the old table, whole
    while building(ch):  # the orphaned CREATE ... AS SELECT may run to its end on the server
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert ch.query(served).result_rows == [(1, 8)]  # and after it: nothing swapped in

    rerun = dbt(project, schema, 2)
    output, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, output[-3000:]
    assert ch.query(served).result_rows == [(2, 8)]


def test_orchards_profile_replaces_a_table_by_exchange_not_by_renames(
    warehouse, tmp_path, monkeypatch, capfd
):
    """The dbt profile every Orchard task uses (Cosmos's, from `clickhouse_default`) on the embedded
    warehouse: a table model rebuilt goes in by one EXCHANGE TABLES, never by renaming the live table away
    and the new one in. dbt-clickhouse probes EXCHANGE once per process in the connection's database, and
    the warehouse's `default` (chDB's Overlay engine) cannot: the builds took the rename path, and a
    warehouse killed between its two renames left no table and two leftovers (seen in tests/e2e/test_faults)."""
    from dagtest_helpers import copy_tiny_project

    from orchard import settings
    from orchard.transform.runner import run_dbt

    monkeypatch.setenv("AIRFLOW_CONN_CLICKHOUSE_DEFAULT", warehouse.airflow_connection())
    monkeypatch.setattr(settings, "DBT_PROJECT_DIR", copy_tiny_project(tmp_path / "dbt"))
    for _ in range(2):  # the first build creates the table, the second replaces it
        run_dbt(["--debug", "build", "--select", "+int_tiny__labelled"])
    statements = capfd.readouterr().out
    assert (
        "EXCHANGE TABLES `intermediate`.`int_tiny__labelled__dbt_backup` AND `intermediate`.`int_tiny__labelled`"
        in statements
    )
    assert "rename table `intermediate`.`int_tiny__labelled`" not in statements
