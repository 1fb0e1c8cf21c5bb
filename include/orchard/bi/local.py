"""The BI side of the local deployment (`make up`, `make run`, `make down`): the warehouse's read-only BI
user, Superset started with the dashboards imported, and the Airflow connection the nightly's refresh uses.
scripts/airflow_local.py calls these; all the logic is here."""

from __future__ import annotations

import os

from orchard.bi import config, server
from orchard.settings import ClickHouseSettings


def warehouse_args() -> list[str]:
    """Extra `orchard warehouse start` arguments: the read-only user Superset queries as."""
    return ["--readonly-user", f"{config.BI_WAREHOUSE_USER}:{config.bi_warehouse_password()}"]


def connection() -> config.SupersetConnection:
    return config.SupersetConnection(server.url(), config.SUPERSET_ADMIN, config.admin_password())


def airflow_env() -> dict[str, str]:
    """The Airflow connection to the local Superset while it runs, unless one is configured already."""
    if os.environ.get("AIRFLOW_CONN_SUPERSET_DEFAULT") or os.environ.get("ORCHARD_SUPERSET_URL"):
        return {}
    if not server.running_pid():
        return {}
    return {"AIRFLOW_CONN_SUPERSET_DEFAULT": connection().airflow_uri()}


def bi_user_can_read(warehouse: ClickHouseSettings | None = None) -> str:
    """'' if the warehouse lets the BI user in, else why not."""
    import clickhouse_connect

    warehouse = warehouse or ClickHouseSettings.from_env()
    try:
        client = clickhouse_connect.get_client(
            host=warehouse.host,
            port=warehouse.port,
            username=config.BI_WAREHOUSE_USER,
            password=config.bi_warehouse_password(),
            secure=warehouse.secure,
        )
        client.command("SELECT 1")
        client.close()
        return ""
    except Exception as exc:  # any refusal is reported, with the fix
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"


def up(manifest_path=None) -> bool:
    """Start Superset (initialised on first use) and import the dashboards; False if not started: turned off
    (ORCHARD_BI=off) or the dbt project is not the one the dashboards are written for."""
    from orchard.bi.assets import Bundle, check_against_manifest, import_bundle
    from orchard.bi.superset_api import SupersetAPI
    from orchard.transform.manifest import load_manifest

    if os.environ.get("ORCHARD_BI", "on").lower() in {"off", "false", "0"}:
        print("• Superset not started (ORCHARD_BI=off)")
        return False
    manifest = load_manifest(manifest_path)
    bundle = Bundle.load()
    problems = check_against_manifest(bundle, manifest)
    if problems:
        print(
            f"• Superset not started: the dashboards in superset/assets do not fit this dbt project ({problems[0]})"
        )
        return False
    print("• Superset (dashboards)")
    pid = server.start()
    result = import_bundle(SupersetAPI(connection()), manifest, bundle=bundle)
    print(f"• Superset started (pid {pid}, log {config.SUPERSET_HOME / 'superset.log'}); "
          f"{len(result.dashboards)} dashboards, {result.charts} charts imported")  # fmt: skip
    problem = bi_user_can_read()
    if problem:
        print(
            f"  ! the warehouse refuses the BI user {config.BI_WAREHOUSE_USER!r} ({problem}): it was started "
            "without it. Restart it (`make down`, then `make up`), or start it with "
            f"--readonly-user {config.BI_WAREHOUSE_USER}:$(cat {config.SUPERSET_HOME / 'warehouse_bi_password'})"
        )
    return True


def login_lines() -> str:
    if not server.running_pid():
        return ""
    return (
        f"Dashboards (Superset): {server.url()}/dashboard/list/\n"
        f"  login: {config.SUPERSET_ADMIN}  password: {config.admin_password()}"
    )


def down() -> None:
    if server.stop():
        print("• Superset stopped")


def status() -> str:
    pid = server.running_pid()
    return f"{'superset':14} " + (f"running (pid {pid}, {server.url()})" if pid else "stopped")
