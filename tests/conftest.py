"""Shared fixtures: one embedded warehouse per test session, on a fresh data path and a free port."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from services import PostgresServer, start_postgres

from orchard.settings import ClickHouseSettings, disable_telemetry
from orchard.warehouse import lifecycle
from orchard.warehouse.client import get_client

disable_telemetry()
# Every warehouse a test starts (any tier, through any script) and every client agree on one password:
# the embedded warehouse refuses to run passwordless unless asked.
os.environ.setdefault("ORCHARD_CLICKHOUSE_PASSWORD", secrets.token_urlsafe(16))


# `make test` shares the suite between two pytest-xdist workers (`-n 2`). Tests that share one expensive session
# resource form a group that runs on one worker, so each resource still starts once per session: the Airflow
# deployment and PostgreSQL (e2e, production) and the one real-project dbt build (BI and the dbt project tests).
# Every other test goes to whichever worker is free.
XDIST_GROUPS = {
    "tests/e2e/": "deployment",
    "tests/production/": "deployment",
    "tests/bi/": "real_build",
    "tests/integration/test_dbt_project.py": "real_build",
    "tests/integration/test_replay_nights.py": "real_build",
}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist's scope scheduler with XDIST_GROUPS as the scopes (xdist's own `loadgroup` marks tests by
    rewriting their node ids, which pytest 9.2 no longer lets a plugin do)."""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return next((g for prefix, g in XDIST_GROUPS.items() if nodeid.startswith(prefix)), nodeid)

    return GroupScheduling(config, log)


def pytest_configure(config) -> None:
    """With workers, build the DAGs' dbt manifest once before they start, if it is missing or stale: tests on
    both workers read it, and two workers rebuilding it at once would read each other's half-written file."""
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        from orchard.transform.manifest import ManifestError, build_manifest, check_manifest

        try:
            check_manifest()
        except ManifestError:
            build_manifest()


def start_server(path: Path, port: int, *extra: str, env: dict | None = None) -> subprocess.Popen:
    """Start `orchard warehouse serve` in a child process and wait until /ping answers."""
    log_file = path.parent / f"warehouse-{port}.log"
    proc = lifecycle.spawn(path, "127.0.0.1", port, log_file, *extra, env=env)
    lifecycle.wait_ready(proc, "127.0.0.1", port, log_file)
    return proc


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class WarehouseProcess:
    path: Path
    port: int
    proc: subprocess.Popen

    def stop(self) -> None:
        stop_server(self.proc)


@pytest.fixture(scope="session")
def start_warehouse(tmp_path_factory):
    """Start extra warehouses (own data path, port and environment); all stop at session end."""
    started: list[WarehouseProcess] = []

    def start(path: Path | None = None, env: dict | None = None, *extra: str) -> WarehouseProcess:
        path = path or tmp_path_factory.mktemp("extra-warehouse") / "data"
        port = lifecycle.free_port()
        started.append(WarehouseProcess(path, port, start_server(path, port, *extra, env=env)))
        return started[-1]

    yield start
    for process in started:
        if process.proc.poll() is None:
            process.stop()


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory) -> ClickHouseSettings:
    """A running embedded warehouse for the whole session; ORCHARD_CLICKHOUSE_* point at it."""
    root = tmp_path_factory.mktemp("warehouse")
    port = lifecycle.free_port()
    proc = start_server(root / "data", port, env={"ORCHARD_WAREHOUSE_READONLY_USERS": ""})
    settings = ClickHouseSettings(port=port)
    saved = {key: os.environ.get(key) for key in settings.env()}
    os.environ.update(settings.env())
    os.environ.pop("AIRFLOW_CONN_CLICKHOUSE_DEFAULT", None)
    yield settings
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    stop_server(proc)


@pytest.fixture
def ch(warehouse):
    """A clickhouse-connect client to the session's warehouse."""
    client = get_client(warehouse)
    yield client
    client.close()


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    """ONE PostgreSQL for the whole session (Airflow's metadata in the e2e tier, shop databases in the
    production tier), on a free port; stopped and deleted at the end. Each user creates its own database."""
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def real_build(tmp_path_factory, start_warehouse):
    """ONE `dbt build --full-refresh` of the real project for the whole session (dbt_runner.RealBuild), in a
    warehouse of its own with a read-only `bi` user. The tiers that only read it share it (the BI tier, the
    reading tests of tests/integration/test_dbt_project.py); `real_build.copy(name)` starts another warehouse
    on a copy of the data path the build left, with copies of its samples and dlt state, for tests that change
    raw data or models (they start where a fresh build would leave them, without paying for one)."""
    from dbt_runner import RealBuild, RealBuildCopy, copy_build_files, fill_warehouse

    root = tmp_path_factory.mktemp("real-build")
    bi_password = secrets.token_urlsafe(12)
    env = {"ORCHARD_WAREHOUSE_READONLY_USERS": f"bi:{bi_password}"}
    server = start_warehouse(root / "warehouse", env)
    build = RealBuild(root, ClickHouseSettings(port=server.port), bi_password, {}, {}, root / "pristine")
    fill_warehouse(root, build.warehouse)
    build.results = build.dbt("build", "--full-refresh", check=False)
    manifest = root / "target" / "manifest.json"
    build.manifest = json.loads(manifest.read_text()) if manifest.exists() else {}
    # Keep what the build left for copies: the server stops first, so its files are consistent.
    server.stop()
    shutil.copytree(root / "warehouse", build.pristine / "warehouse", symlinks=True)
    copy_build_files(root, build.pristine)
    build.warehouse = ClickHouseSettings(port=start_warehouse(root / "warehouse", env).port)

    def copy(name: str) -> RealBuildCopy:
        target = tmp_path_factory.mktemp(name)
        shutil.copytree(build.pristine / "warehouse", target / "warehouse", symlinks=True)
        copy_build_files(build.pristine, target)
        process = start_warehouse(target / "warehouse", {"ORCHARD_WAREHOUSE_READONLY_USERS": ""})
        return RealBuildCopy(target, ClickHouseSettings(port=process.port), process)

    build.copy = copy
    return build
