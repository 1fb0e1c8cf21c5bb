#!/usr/bin/env python3
"""sqlfluff over the dbt project (ClickHouse dialect, dbt templater), for `make lint`.

sqlfluff's dbt templater always opens a dbt connection, and dbt-clickhouse connects eagerly, so linting
needs a warehouse: a throwaway embedded one on a temporary path and a free port, stopped afterwards. Never
the one a user runs (`make run` in another clone answers on the same port with another password).

Usage: scripts/lint_sql.py [PATH ...]   (paths in dbt/; default: models snapshots analyses tests/singular)
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from orchard.settings import ClickHouseSettings, disable_telemetry
from orchard.warehouse import lifecycle

DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt"
DEFAULT_PATHS = ["models", "snapshots", "analyses", "tests/singular"]


def sqlfluff(paths: list[str], env: dict) -> int:
    # one process: forked workers would share the templater's dbt connection, i.e. one ClickHouse session,
    # and the server refuses concurrent queries in a session (SESSION_IS_LOCKED)
    cmd = [str(Path(sys.executable).parent / "sqlfluff"), "lint", *paths, "--processes", "1"]
    return subprocess.run(cmd, cwd=DBT_PROJECT, env=env).returncode


def main() -> int:
    disable_telemetry()
    paths = sys.argv[1:] or DEFAULT_PATHS
    throwaway = ClickHouseSettings(
        host="127.0.0.1", port=lifecycle.free_port(), password=secrets.token_urlsafe(16)
    )
    with tempfile.TemporaryDirectory(prefix="orchard-lint-") as tmp:
        log = Path(tmp) / "warehouse.log"
        secrets_env = {
            "ORCHARD_CLICKHOUSE_PASSWORD": throwaway.password,
            "ORCHARD_WAREHOUSE_READONLY_USERS": "",
        }
        proc = lifecycle.spawn(Path(tmp) / "warehouse", throwaway.host, throwaway.port, log, env=secrets_env)
        try:
            lifecycle.wait_ready(proc, throwaway.host, throwaway.port, log)
            return sqlfluff(paths, {**os.environ, **throwaway.env()})
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
