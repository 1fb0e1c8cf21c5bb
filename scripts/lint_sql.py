#!/usr/bin/env python3
"""sqlfluff over the dbt project (ClickHouse dialect, dbt templater), for `make lint`.

sqlfluff's dbt templater always opens a dbt connection, and dbt-clickhouse connects eagerly, so linting
needs a warehouse. When ORCHARD_CLICKHOUSE_* (or the defaults) reach one, it is used; otherwise a throwaway
embedded warehouse is started on a temporary path and a free port, and stopped afterwards.

Usage: scripts/lint_sql.py [PATH ...]   (paths in dbt/; default: models snapshots analyses tests/singular)
"""

from __future__ import annotations

import dataclasses
import os
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
    settings = ClickHouseSettings.from_env()
    if lifecycle.ping(settings.host, settings.port):
        return sqlfluff(paths, {**os.environ, **settings.env()})
    with tempfile.TemporaryDirectory(prefix="orchard-lint-") as tmp:
        port = lifecycle.free_port()
        log = Path(tmp) / "warehouse.log"
        proc = lifecycle.spawn(Path(tmp) / "warehouse", "127.0.0.1", port, log)
        try:
            lifecycle.wait_ready(proc, "127.0.0.1", port, log)
            # the throwaway server and dbt agree on the password: the given one, else the generated one
            throwaway = dataclasses.replace(settings, host="127.0.0.1", port=port)
            return sqlfluff(paths, {**os.environ, **throwaway.env()})
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
