"""Import connections, pools and variables from an Astro-CLI-format airflow_settings.yaml into Airflow's
metadata database (idempotent: existing objects are updated). Usage: import_airflow_settings.py FILE

`clickhouse_default` takes the warehouse from the environment when one is given there
(AIRFLOW_CONN_CLICKHOUSE_DEFAULT or ORCHARD_CLICKHOUSE_*, as `make up` serves it), so the connection in the
metadata database, the one the UI edits and every task reads, names the warehouse actually running."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import yaml


def main(path: Path) -> None:
    from airflow.models import Connection, Pool, Variable
    from airflow.utils.session import create_session

    data = (yaml.safe_load(path.read_text()) or {}).get("airflow", {}) or {}
    with create_session() as session:
        for item in data.get("connections") or []:
            item = {**item, **_warehouse_from_env(item["conn_id"])}
            extra = item.get("conn_extra")
            conn = Connection(
                conn_id=item["conn_id"],
                conn_type=item.get("conn_type") or "generic",
                host=item.get("conn_host"),
                port=item.get("conn_port"),
                login=item.get("conn_login"),
                password=item.get("conn_password"),
                schema=item.get("conn_schema"),
                extra=json.dumps(extra) if isinstance(extra, dict) else extra,
            )
            existing = session.query(Connection).filter(Connection.conn_id == conn.conn_id).one_or_none()
            if existing is not None:
                session.delete(existing)
                session.flush()
            session.add(conn)
            print(f"  connection {conn.conn_id}")
        for item in data.get("pools") or []:
            Pool.create_or_update_pool(
                name=item["pool_name"],
                slots=int(item["pool_slot"]),
                description=item.get("pool_description", ""),
                include_deferred=False,
                session=session,
            )
            print(f"  pool {item['pool_name']} ({item['pool_slot']} slots)")
    for item in data.get("variables") or []:
        Variable.set(item["variable_name"], item["variable_value"])
        print(f"  variable {item['variable_name']}")


def _warehouse_from_env(conn_id: str) -> dict:
    """The warehouse fields of `clickhouse_default` from the environment, if it names one; else nothing."""
    from orchard.settings import CLICKHOUSE_CONN_ID, ClickHouseSettings

    given = "AIRFLOW_CONN_" + CLICKHOUSE_CONN_ID.upper() in os.environ or any(
        key.startswith("ORCHARD_CLICKHOUSE_") and key != "ORCHARD_CLICKHOUSE_CLUSTER" for key in os.environ
    )
    if conn_id != CLICKHOUSE_CONN_ID or not given:
        return {}
    ch = ClickHouseSettings.from_env()
    return {
        "conn_host": ch.host,
        "conn_port": ch.port,
        "conn_login": ch.user,
        "conn_password": ch.password,
        "conn_schema": ch.database,
        "conn_extra": {"secure": ch.secure},
    }


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
