"""The BI tier's session: ONE embedded warehouse (with a read-only `bi` user) filled by a real dbt build of
the project on generated samples, and ONE Superset (its own virtualenv, SQLite metadata in a temporary
home) started while dbt builds, with the dashboards imported once."""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import date
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

FIRST_DAY = date(2026, 1, 20)


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


def _fill_warehouse(root: Path, warehouse: ClickHouseSettings) -> None:
    from orchard.sources.instacart.pipeline import run_instacart
    from orchard.sources.shop.pipeline import run_shop
    from orchard_dev.instacart_sample.generator import write_sample
    from orchard_dev.shop_sample.simulator import simulate

    write_sample(root / "instacart", scale=0.002)
    shop_url = f"sqlite:///{root / 'shop.sqlite'}"
    simulate(shop_url, FIRST_DAY)
    run_instacart(root / "instacart", settings=warehouse, pipelines_dir=root / "pipelines")
    run_shop(shop_url, settings=warehouse, pipelines_dir=root / "pipelines")


@pytest.fixture(scope="session")
def bi_stack(tmp_path_factory, start_warehouse) -> BiStack:
    root = tmp_path_factory.mktemp("bi")
    home = root / "superset"
    port = lifecycle.free_port()
    os.environ.pop("ORCHARD_SUPERSET_PASSWORD", None)
    started: dict[str, Any] = {}

    def start_superset() -> None:
        try:
            started["pid"] = server.start(home, port)
        except Exception as exc:  # reported below, on the test's thread
            started["error"] = exc

    superset_thread = threading.Thread(target=start_superset)
    superset_thread.start()  # Superset initialises while the data loads and dbt builds
    try:
        bi_password = secrets.token_urlsafe(12)
        process = start_warehouse(
            root / "warehouse",
            {"ORCHARD_WAREHOUSE_READONLY_USERS": f"bi:{bi_password}"},
        )
        warehouse = ClickHouseSettings(port=process.port)
        _fill_warehouse(root, warehouse)
        stack = BiStack(warehouse, bi_password, {}, config.SupersetConnection("", "", ""), root)
        stack.dbt("build", "--full-refresh", "--exclude", "resource_type:unit_test")
        stack.manifest = json.loads((root / "target" / "manifest.json").read_text())
    finally:
        superset_thread.join()
    if "error" in started:
        raise started["error"]
    stack.superset = config.SupersetConnection(
        server.url(port), config.SUPERSET_ADMIN, config.admin_password(home)
    )
    import_bundle(stack.api(), stack.manifest, warehouse, "bi", bi_password)
    yield stack
    server.stop(home)
