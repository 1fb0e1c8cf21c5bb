"""Cosmos configuration shared by every DAG: project, profile (from the `clickhouse_default` connection),
execution mode and the dbt vars that carry a run's data interval."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cosmos import ExecutionConfig, ExecutionMode, ProfileConfig, ProjectConfig
from cosmos import settings as cosmos_settings
from cosmos.constants import InvocationMode
from cosmos.profiles.clickhouse import ClickhouseUserPasswordProfileMapping

from orchard import settings
from orchard.transform.manifest import orjson_enabled
from orchard.transform.run_results import keep_run_results

# Cosmos parses manifest.json with orjson when `[cosmos] enable_orjson_parser` is on: about 10x faster
# than json on our 1.5 MB manifest, which is most of a DAG file's parse time. On unless configured off.
cosmos_settings.enable_orjson_parser = orjson_enabled()


def watcher_reliable_retry() -> bool:
    """`[cosmos] enable_watcher_reliable_retry` as configured; off when not configured (Cosmos: on)."""
    from airflow.configuration import conf

    return conf.getboolean("cosmos", "enable_watcher_reliable_retry", fallback=False)


# Cosmos's WATCHER producer by default rewrites a Variable with every node status pushed so far, compressed, at
# every push (`[cosmos] enable_watcher_reliable_retry`), so that a retry after a hard kill can restore them: 1354
# growing writes in one scale-0.01 nightly, on the producer's dbt thread (Cosmos issues #2736, #2776). Orchard's
# producer has no retries and its rerun drops that Variable before Cosmos could restore it
# (watcher_rerun.producer_starts), so those writes buy nothing here. Off unless configured on; a failure Airflow
# catches still writes the backup once (Cosmos's failure callback).
cosmos_settings.enable_watcher_reliable_retry = watcher_reliable_retry()

EXECUTION_MODES = {"local": ExecutionMode.LOCAL, "watcher": ExecutionMode.WATCHER}

# Templated at run time: a run for a past date rebuilds that date.
DBT_VARS = {
    # a manual run without a logical date has no interval in Airflow 3: the names are then undefined
    "data_interval_start": "{{ data_interval_start.isoformat() if data_interval_start is defined "
    "and data_interval_start else '' }}",
    "data_interval_end": "{{ data_interval_end.isoformat() if data_interval_end is defined "
    "and data_interval_end else '' }}",
    "enable_grants": settings.DBT_ENABLE_GRANTS,
}


class OrchardClickhouseProfileMapping(ClickhouseUserPasswordProfileMapping):
    """Cosmos's ClickHouse mapping, accepting an empty password (the embedded warehouse has none).

    Cosmos requires the password to be set and an `extra.clickhouse` flag; ours is an ordinary
    generic connection, so neither is demanded. The password still travels as an env var, never in
    the profile file.
    """

    required_fields = ["host", "user", "schema"]
    default_port = settings.DEFAULT_PORT  # the HTTP port: Cosmos assumes the native protocol's 9000

    @property
    def env_vars(self) -> dict[str, str]:
        return {self.get_env_var_name("password"): str(self.get_dbt_value("password") or "")}


def cluster_profile_args() -> dict[str, Any]:
    """On a ClickHouse cluster (ORCHARD_CLICKHOUSE_CLUSTER, as dbt/profiles.yml's `cluster` target): DDL
    ON CLUSTER and, through dbt_project.yml, replicated engines and Distributed tables. Empty: one server."""
    cluster = os.environ.get("ORCHARD_CLICKHOUSE_CLUSTER", "").strip()
    return {"cluster": cluster, "custom_settings": {"insert_distributed_sync": 1}} if cluster else {}


def profile_config(target: str | None = None) -> ProfileConfig:
    """The dbt profile generated from the Airflow connection, driver http (one port for everything)."""
    return ProfileConfig(
        profile_name="orchard",
        target_name=target or settings.DBT_AIRFLOW_TARGET,
        profile_mapping=OrchardClickhouseProfileMapping(
            conn_id=settings.CLICKHOUSE_CONN_ID,
            profile_args={
                "driver": "http",
                "threads": 2,
                "use_lw_deletes": True,
                "connect_timeout": 10,
                "send_receive_timeout": 3600,
                # dbt-clickhouse decides once per process whether the server can EXCHANGE TABLES by trying
                # it in the connection's database; the embedded warehouse's `default` is chDB's Overlay
                # engine, which cannot, so every table build took the non-atomic path (rename the live
                # table away, then the new one in): a kill between the renames left no table and two
                # leftovers. Each model's own database (Atomic) is still checked before an exchange.
                "check_exchange": False,
                **cluster_profile_args(),
            },
        ),
    )


def project_config() -> ProjectConfig:
    return ProjectConfig(
        dbt_project_path=settings.DBT_PROJECT_DIR,
        manifest_path=settings.DBT_MANIFEST_PATH,
        project_name="orchard",
        install_dbt_deps=False,  # the project vendors its macros: dbt hub is not reachable here
        env_vars=dict(settings.TELEMETRY_OFF),
    )


def execution_config(mode: str | None = None, producer_args: dict[str, Any] | None = None) -> ExecutionConfig:
    """LOCAL: one dbt invocation per task. WATCHER: one `dbt build` (the producer, given `producer_args`)
    watched by a task per model; the faster on this machine (bench/orchestration), hence the default."""
    mode = (mode or settings.EXECUTION_MODE).lower()
    if mode not in EXECUTION_MODES:
        raise ValueError(
            f"unknown execution mode {mode!r}: set ORCHARD_EXECUTION_MODE to one of {list(EXECUTION_MODES)}"
        )
    if mode == "local":
        # dbt runs inside the task process: no interpreter start-up per task.
        return ExecutionConfig(execution_mode=ExecutionMode.LOCAL, invocation_mode=InvocationMode.DBT_RUNNER)
    return ExecutionConfig(
        execution_mode=ExecutionMode.WATCHER,
        invocation_mode=InvocationMode.DBT_RUNNER,
        setup_operator_args=dict(producer_args or {}),
    )


def partial_parse_dir(dag_id: str) -> Path | None:
    """Where Cosmos keeps the dbt partial parse of a DAG's `transform` group (its cache directory, named
    `<dag_id>__<group id>` under `[cosmos] cache_dir`), None when Cosmos's cache is off. Orchard's other dbt
    tasks of the DAG (source freshness, the ops marts, docs) start from and keep the same file, so a run parses
    the project once, not once per dbt task. Nothing is made here, at DAG-parse time: the first dbt task that
    keeps its parse makes the directory (cosmos.cache._update_partial_parse_cache)."""
    if not cosmos_settings.enable_cache:
        return None
    return cosmos_settings.cache_dir / f"{dag_id.replace('.', '___')}__transform"


def operator_args(
    full_refresh: bool | str = False, pool: str = settings.DBT_BUILD_POOL, **extra: Any
) -> dict[str, Any]:
    """Arguments every Cosmos dbt task gets: data-interval vars, a pool, no `dbt deps`, and its
    run_results.json kept for alerts. The pool is the one-slot dbt build pool for tasks that build, the
    warehouse pool for those that only watch or read."""
    return {
        "vars": dict(DBT_VARS),
        "install_deps": False,
        "pool": pool,
        "full_refresh": full_refresh,
        "callback": keep_run_results,
        **extra,
    }
