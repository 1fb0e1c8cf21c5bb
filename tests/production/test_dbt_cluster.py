"""dbt on a ClickHouse cluster: the `cluster` target's DDL (as dbt-clickhouse's own macros render it, through
`dbt run-operation cluster_ddl`) runs ON CLUSTER with replicated engines and Distributed tables over their
local tables, and the other targets' DDL is unchanged. No cluster runs here: nothing is executed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dbt_runner import dbt_command

from orchard.warehouse.lifecycle import free_port

pytestmark = pytest.mark.unit

DBT = Path(sys.executable).parent / "dbt"
CLUSTER = "orchard_test_cluster"  # not the default: the statements must follow ORCHARD_CLICKHOUSE_CLUSTER


def ddl(tmp_path: Path, target: str) -> list[str]:
    """Every DDL head of the project on `target`, whitespace folded; no warehouse is reached."""
    env = {
        **os.environ,
        "DO_NOT_TRACK": "1",
        "ORCHARD_CLICKHOUSE_CLUSTER": CLUSTER,
        "ORCHARD_CLICKHOUSE_PORT": str(free_port()),  # nothing listens: proof that nothing runs
    }
    env.pop("ORCHARD_DBT_SCHEMA", None)
    proc = subprocess.run(
        dbt_command(
            "--quiet",
            "run-operation",
            "cluster_ddl",
            target=target,
            target_path=tmp_path / target / "target",
            log_path=tmp_path / target / "logs",
        ),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    line = next(line for line in proc.stdout.splitlines() if line.startswith("["))
    return [" ".join(statement.split()) for statement in json.loads(line)]


def statement(statements: list[str], head: str) -> str:
    [found] = [s for s in statements if s.startswith(head)]
    return found


def test_cluster_target_runs_ddl_on_cluster_with_replicated_and_distributed_tables(tmp_path):
    statements = ddl(tmp_path, "cluster")
    on_cluster = f'ON CLUSTER "{CLUSTER}"'
    assert len(statements) > 40
    assert all(on_cluster in s for s in statements), [s for s in statements if on_cluster not in s][:3]
    assert not [s for s in statements if "engine = MergeTree" in s], "a plain MergeTree is not replicated"

    # a mart table: a replicated local table on every node, a Distributed table over the shards
    local = statement(statements, "create table `cluster_marts`.`dim_grocery_products_local`")
    assert local.endswith("engine = ReplicatedMergeTree()")
    dist = statement(statements, "create or replace table `cluster_marts`.`dim_grocery_products` ")
    assert f"as `cluster_marts`.`dim_grocery_products_local` ENGINE = Distributed('{CLUSTER}', " in dist
    assert "'cluster_marts', 'dim_grocery_products_local'" in dist
    # intermediate tables too
    statement(statements, "create table `cluster_intermediate`.`int_grocery__orders_local`")
    # incremental facts, seeds and snapshots: replicated, created on every node
    for head in (
        "create table `cluster_marts`.`fct_shop_orders` ",
        "create table `cluster_seeds`.",
        "create table `cluster_snapshots`.",
    ):
        found = [s for s in statements if s.startswith(head)]
        assert found and all(s.endswith("engine = ReplicatedMergeTree()") for s in found), head
    # staging views are created on every node as well
    views = [s for s in statements if s.startswith("create or replace view `cluster_staging`.")]
    assert views and all(on_cluster in s for s in views)


def test_single_server_targets_keep_plain_tables(tmp_path):
    statements = ddl(tmp_path, "ci")
    text = "\n".join(statements)
    assert "ON CLUSTER" not in text and "Replicated" not in text and "Distributed" not in text
    assert statement(statements, "create table `ci_marts`.`dim_grocery_products` ").endswith(
        "engine = MergeTree()"
    )
