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

FORMAT = (
    "the Astro CLI format: `airflow:` with lists `connections` (conn_id, conn_type, conn_host, ...), "
    "`pools` (pool_name, pool_slot) and `variables` (variable_name, variable_value)"
)


class SettingsFileError(ValueError):
    """airflow_settings.yaml cannot be imported; the message names the entry and the fix."""


def read_settings(path: Path) -> dict:
    """The `airflow:` section, checked whole before anything is imported (a bad file changes nothing)."""
    try:
        loaded = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise SettingsFileError(f"{path}: cannot be read ({exc.strerror}): create it in {FORMAT}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SettingsFileError(
            f"{path}: not valid YAML{where} ({problem}): fix that line; nothing was imported"
        ) from exc
    data = loaded.get("airflow") if isinstance(loaded, dict) else None
    if loaded is not None and not (isinstance(loaded, dict) and isinstance(data, dict | None)):
        raise SettingsFileError(f"{path}: expected {FORMAT}; nothing was imported")
    data = data or {}
    required = {
        "connections": ("conn_id",),
        "pools": ("pool_name", "pool_slot"),
        "variables": ("variable_name",),
    }
    for section, keys in required.items():
        items = data.get(section) or []
        if not isinstance(items, list):
            raise SettingsFileError(f"{path}: airflow.{section} must be a list; expected {FORMAT}")
        for number, item in enumerate(items, 1):
            missing = [k for k in keys if not isinstance(item, dict) or item.get(k) in (None, "")]
            if missing:
                raise SettingsFileError(
                    f"{path}: entry {number} of airflow.{section} lacks {', '.join(missing)}: add it "
                    f"(expected {FORMAT}); nothing was imported"
                )
            if section == "pools" and not str(item["pool_slot"]).lstrip("-").isdigit():
                raise SettingsFileError(
                    f"{path}: pool {item['pool_name']!r} has pool_slot {item['pool_slot']!r}: give a whole "
                    "number of slots, e.g. 4; nothing was imported"
                )
            extra = item.get("conn_extra") if section == "connections" else None
            if isinstance(extra, str) and extra.strip():
                try:
                    json.loads(extra)
                except ValueError as exc:
                    raise SettingsFileError(
                        f"{path}: conn_extra of connection {item['conn_id']!r} is neither a mapping nor JSON: "
                        "write it as a YAML mapping (key: value lines); nothing was imported"
                    ) from exc
    return data


def main(path: Path) -> None:
    data = read_settings(path)
    from airflow.models import Connection, Pool, Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        for item in data.get("connections") or []:
            item = {**item, **_warehouse_fields(item)}
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


def _warehouse_fields(item: dict) -> dict:
    """The warehouse fields of `clickhouse_default` from the environment, if it names one; else, as the file
    holds no secret, the embedded warehouse's password (generated on first use). Nothing for other ids."""
    from orchard.settings import CLICKHOUSE_CONN_ID, ClickHouseSettings, default_warehouse_password

    if item["conn_id"] != CLICKHOUSE_CONN_ID:
        return {}
    given = "AIRFLOW_CONN_" + CLICKHOUSE_CONN_ID.upper() in os.environ or any(
        key.startswith("ORCHARD_CLICKHOUSE_") and key != "ORCHARD_CLICKHOUSE_CLUSTER" for key in os.environ
    )
    if not given:
        return {"conn_password": item.get("conn_password") or default_warehouse_password()}
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
    try:
        main(Path(sys.argv[1]))
    except SettingsFileError as exc:
        sys.exit(str(exc))
