"""A malformed airflow_settings.yaml is refused whole, naming the entry and the fix, and Airflow's metadata
(connections, pools, variables already imported) is left exactly as it was."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.dags

VALID_POOL = "  pools:\n    - pool_name: clickhouse\n      pool_slot: 9\n"
BAD_FILES = {
    "yaml syntax": (
        "airflow:\n  pools:\n    - pool_name: clickhouse\n      pool_slot: 4\n     description: [unclosed\n",
        "not valid YAML at line 5",
        "fix that line",
    ),
    "connection without conn_id": (
        "airflow:\n" + VALID_POOL + "  connections:\n    - conn_type: generic\n      conn_host: db\n",
        "entry 1 of airflow.connections lacks conn_id",
        "add it",
    ),
    "pool_slot not a number": (
        "airflow:\n  pools:\n    - pool_name: clickhouse\n      pool_slot: four\n",
        "pool 'clickhouse' has pool_slot 'four'",
        "give a whole number of slots",
    ),
    "airflow is a list": ("airflow:\n  - conn_id: x\n", "expected the Astro CLI format", "connections"),
}


@pytest.fixture(scope="module")
def metadata(airflow_home, tmp_path_factory):
    """A copy of the tier's migrated metadata database, with the real airflow_settings.yaml imported."""
    db = tmp_path_factory.mktemp("settings") / "airflow.db"
    shutil.copy(airflow_home / "airflow.db", db)
    env = {**os.environ, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db}"}
    result = _import(ROOT / "airflow_settings.yaml", env)
    assert result.returncode == 0, result.stderr
    return db, env


def _import(path: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "import_airflow_settings.py"), str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def snapshot(db: Path) -> dict[str, list]:
    with sqlite3.connect(db) as conn:
        return {
            "connections": conn.execute(
                "SELECT conn_id, conn_type, host, port, login, password, schema, extra FROM connection ORDER BY 1"
            ).fetchall(),
            "pools": conn.execute("SELECT pool, slots FROM slot_pool ORDER BY 1").fetchall(),
            "variables": conn.execute('SELECT "key", val FROM variable ORDER BY 1').fetchall(),
        }


@pytest.mark.reliability(
    fault="a malformed `airflow_settings.yaml` (bad YAML, an entry without its key, a pool size not a number)",
    behaviour="refused whole before Airflow is touched, naming the line or entry and the fix; connections, "
    "pools and variables unchanged",
)
@pytest.mark.parametrize("case", list(BAD_FILES))
def test_malformed_settings_file_is_refused_and_changes_nothing(metadata, tmp_path, case):
    db, env = metadata
    before = snapshot(db)
    assert ("clickhouse", 4) in before["pools"] and before["connections"][0][0] == "clickhouse_default"
    text, problem, fix = BAD_FILES[case]
    bad = tmp_path / "airflow_settings.yaml"
    bad.write_text(text)
    result = _import(bad, env)
    assert result.returncode == 1
    assert str(bad) in result.stderr and problem in result.stderr and fix in result.stderr
    assert "nothing was imported" in result.stderr or "expected the Astro CLI format" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(db) == before  # the valid pool (9 slots) before the bad entry was not written either
