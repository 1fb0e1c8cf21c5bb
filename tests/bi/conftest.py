"""The BI tier's session: the session's one real-project build (`real_build`, tests/conftest.py: an embedded
warehouse with a read-only `bi` user, filled by a real dbt build of the project on generated samples), and ONE
Superset (its own virtualenv, SQLite metadata in a temporary home) started while dbt builds, with the
dashboards imported once."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dbt_runner import Dbt

from orchard.bi import config, server
from orchard.bi.assets import import_bundle
from orchard.bi.superset_api import SupersetAPI
from orchard.settings import ClickHouseSettings
from orchard.warehouse import lifecycle
from orchard.warehouse.client import get_client


@dataclass
class BiStack:
    warehouse: ClickHouseSettings
    bi_password: str
    manifest: dict[str, Any]
    superset: config.SupersetConnection
    root: Path

    def api(self) -> SupersetAPI:
        return SupersetAPI(self.superset)

    def client(self):
        return get_client(self.warehouse)

    @property
    def dbt(self) -> Dbt:
        """The dbt CLI on the project, ci target, against this stack's warehouse (raises if dbt fails)."""
        return Dbt(self.root, "raw_instacart", "raw_shop", env=self.warehouse.env())


@pytest.fixture(scope="session")
def bi_stack(tmp_path_factory, request) -> BiStack:
    home = tmp_path_factory.mktemp("bi") / "superset"
    port = lifecycle.free_port()
    os.environ.pop("ORCHARD_SUPERSET_PASSWORD", None)
    started: dict[str, Any] = {}

    def start_superset() -> None:
        try:
            started["pid"] = server.start(home, port)
        except Exception as exc:  # reported below, on the test's thread
            started["error"] = exc

    superset_thread = threading.Thread(target=start_superset)
    superset_thread.start()  # Superset initialises while the data loads and dbt builds (unless already built)
    try:  # Superset stops whatever fails below, its start included
        try:
            build = request.getfixturevalue("real_build")
        finally:
            superset_thread.join()
        if "error" in started:
            raise started["error"]
        if build.results["returncode"] != 0:
            raise AssertionError(f"the session's dbt build failed:\n{build.results['output']}")
        stack = BiStack(
            build.warehouse,
            build.bi_password,
            build.manifest,
            config.SupersetConnection(server.url(port), config.SUPERSET_ADMIN, config.admin_password(home)),
            build.root,
        )
        import_bundle(stack.api(), stack.manifest, stack.warehouse, "bi", stack.bi_password)
        yield stack
    finally:
        server.stop(home)
