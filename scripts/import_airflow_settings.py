"""Import connections, pools and variables from an Astro-CLI-format airflow_settings.yaml into Airflow's
metadata database (idempotent: existing objects are updated). Usage: import_airflow_settings.py FILE"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml


def main(path: Path) -> None:
    from airflow.models import Connection, Pool, Variable
    from airflow.utils.session import create_session

    data = (yaml.safe_load(path.read_text()) or {}).get("airflow", {}) or {}
    with create_session() as session:
        for item in data.get("connections") or []:
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


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
