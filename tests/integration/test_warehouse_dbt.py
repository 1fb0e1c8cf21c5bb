"""dbt-clickhouse (driver: http) against the embedded warehouse: debug, then build a small project twice."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).parents[1] / "fixtures" / "dbt_small"


def dbt(project: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        str(Path(sys.executable).parent / "dbt"),
        *args,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
    ]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )


@pytest.fixture
def project(tmp_path, warehouse):
    copy = tmp_path / "dbt_small"
    shutil.copytree(PROJECT, copy)
    return copy


def results(project: Path) -> dict[str, str]:
    """Status of each node of the last dbt command, by node name."""
    data = json.loads((project / "target" / "run_results.json").read_text())
    return {row["unique_id"].split(".")[2]: row["status"] for row in data["results"]}


def test_dbt_debug_connects(project):
    result = dbt(project, "debug")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "All checks passed" in result.stdout


def test_dbt_build_twice(project, ch):
    first = dbt(project, "build", "--vars", "{multiplier: 1}")
    assert first.returncode == 0, first.stdout[-3000:]
    statuses = results(project)
    assert statuses["fruit_table"] == "success" and statuses["fruit_snapshot"] == "success"
    assert ch.command("SELECT count() FROM warehouse_check.fruit_snapshot") == 3

    second = dbt(project, "build", "--vars", "{multiplier: 2}")
    assert second.returncode == 0, second.stdout[-3000:]
    # delete+insert replaced ids >= 2 with doubled prices, kept id 1
    assert ch.query("SELECT id, price FROM warehouse_check.fruit_incremental ORDER BY id").result_rows == [
        (1, 1.5),
        (2, 1.0),
        (3, 8.0),
    ]
    # the check snapshot closed the three old versions and opened three new ones
    closed = ch.command("SELECT countIf(dbt_valid_to IS NOT NULL) FROM warehouse_check.fruit_snapshot")
    assert ch.command("SELECT count() FROM warehouse_check.fruit_snapshot") == 6
    assert closed == 3
