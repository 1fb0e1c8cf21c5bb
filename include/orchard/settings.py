"""Orchard's settings: every default lives here, every value can be overridden by environment.

Warehouse connection details come, in order, from the Airflow connection URI in
AIRFLOW_CONN_CLICKHOUSE_DEFAULT, from ORCHARD_CLICKHOUSE_* variables, then from the
embedded warehouse's defaults (127.0.0.1:8123, user default, no password).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from orchard.warehouse.credentials import client_password as warehouse_password

PROJECT_ROOT = Path(os.environ.get("ORCHARD_HOME", Path(__file__).resolve().parents[2]))
STATE_DIR = Path(os.environ.get("ORCHARD_STATE_DIR", PROJECT_ROOT / ".orchard"))
WAREHOUSE_PATH = Path(os.environ.get("ORCHARD_WAREHOUSE_PATH", STATE_DIR / "warehouse"))
DATA_DIR = Path(os.environ.get("ORCHARD_DATA_DIR", STATE_DIR / "data"))
DBT_PROJECT_DIR = Path(os.environ.get("ORCHARD_DBT_PROJECT_DIR", PROJECT_ROOT / "dbt"))

CLICKHOUSE_CONN_ID = "clickhouse_default"

# On-call alerting: channels are Airflow connections; without any, alerts go to this local log.
ALERT_LOG = Path(os.environ.get("ORCHARD_ALERT_LOG", STATE_DIR / "alerts" / "alerts.jsonl"))
ALERT_CONN_IDS = {"slack": "orchard_slack", "email": "orchard_smtp", "webhook": "orchard_webhook"}
AIRFLOW_HOME = Path(os.environ.get("AIRFLOW_HOME", STATE_DIR / "airflow"))

# Orchestration (Airflow + Cosmos). The manifest is what DAG files render from; Airflow's dbt target is
# prod so models land in the fixed databases (staging, marts, ...) that BI reads.
DBT_AIRFLOW_TARGET = os.environ.get("ORCHARD_AIRFLOW_DBT_TARGET", "prod")


def airflow_manifest_path(project_dir: Path) -> Path:
    """Where `orchard dbt manifest` writes the manifest the DAGs render from, for a dbt project. A target
    path of its own: a developer's `dbt build --target dev` rewrites target/manifest.json with dev schemas,
    which the DAGs must not pick up."""
    return project_dir / "target" / f"airflow-{DBT_AIRFLOW_TARGET}" / "manifest.json"


DBT_MANIFEST_PATH = Path(os.environ.get("ORCHARD_DBT_MANIFEST", airflow_manifest_path(DBT_PROJECT_DIR)))
RENDER_GRANULARITY = os.environ.get("ORCHARD_RENDER_GRANULARITY", "model")  # model | tag | layer
# watcher | local. WATCHER (one `dbt build` watched by a task per model) ran the nightly 2-3x faster than
# LOCAL (a dbt invocation per model) on this machine: bench/orchestration prints both.
EXECUTION_MODE = os.environ.get("ORCHARD_EXECUTION_MODE", "watcher")
CLICKHOUSE_POOL = "clickhouse"
# One dbt build at a time, across every run and every DAG: two builds of the same models race on dbt's
# table swaps (TABLE_ALREADY_EXISTS). An Airflow 3 backfill does not count against a DAG's
# max_active_runs, so a backfill and the nightly would otherwise build at once. One slot
# (airflow_settings.yaml).
DBT_BUILD_POOL = "dbt_build"
# dbt grants need ClickHouse access control, which the embedded warehouse lacks: on only when asked for.
DBT_ENABLE_GRANTS = os.environ.get("ORCHARD_DBT_ENABLE_GRANTS", "false").lower() in {"1", "true", "yes"}
# `airflow dags test` in 3.3.2 crashes finishing a successful run of a DAG with a deadline alert
# (DagRun.update_state looks the alert up by a dict instead of its id): runs under `dags test` turn it off.
DEADLINE_ALERTS = os.environ.get("ORCHARD_DEADLINE_ALERTS", "true").lower() in {"1", "true", "yes"}
# orchard_nightly is queued at 02:00 UTC and must finish by 06:00 UTC: 4 hours after it is queued.
NIGHTLY_DEADLINE_AFTER_S = float(os.environ.get("ORCHARD_NIGHTLY_DEADLINE_AFTER_S", str(4 * 3600)))
TASK_RETRIES = int(os.environ.get("ORCHARD_TASK_RETRIES", "2"))
TASK_RETRY_DELAY_S = float(os.environ.get("ORCHARD_TASK_RETRY_DELAY_S", "120"))
NIGHTLY_CATCHUP = os.environ.get("ORCHARD_NIGHTLY_CATCHUP", "true").lower() in {"1", "true", "yes"}
NIGHTLY_START_DATE = os.environ.get("ORCHARD_NIGHTLY_START_DATE", "2026-11-01T00:00:00+00:00")
DBT_DOCS_DIR = Path(os.environ.get("ORCHARD_DBT_DOCS_DIR", STATE_DIR / "dbt-docs"))
DBT_ARTIFACTS_DIR = Path(os.environ.get("ORCHARD_DBT_ARTIFACTS_DIR", STATE_DIR / "dbt-artifacts"))
SHOP_DB_URL = os.environ.get("ORCHARD_SHOP_DB_URL", f"sqlite:///{STATE_DIR / 'shop.sqlite'}")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8123

# Usage telemetry of dbt, dlt and Cosmos goes to outside endpoints: off unless a user opts in.
TELEMETRY_OFF = {
    "DO_NOT_TRACK": "1",
    "SCARF_NO_ANALYTICS": "true",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "false",
}


def disable_telemetry() -> None:
    for key, value in TELEMETRY_OFF.items():
        os.environ.setdefault(key, value)


@dataclass(frozen=True)
class ClickHouseSettings:
    """Where the warehouse is and who we are there: one set for dlt, dbt, BI and Orchard."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    user: str = "default"
    password: str = field(default_factory=warehouse_password)  # generated once, owner-only
    database: str = "default"
    secure: bool = False

    @property
    def url(self) -> str:
        scheme = "https" if self.secure else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def describe(self) -> str:
        """Where the warehouse is, without the password: safe for logs and error messages."""
        return f"{self.url} (user {self.user})"

    def env(self) -> dict[str, str]:
        """The ORCHARD_CLICKHOUSE_* variables that reproduce these settings in a child process."""
        return {
            "ORCHARD_CLICKHOUSE_HOST": self.host,
            "ORCHARD_CLICKHOUSE_PORT": str(self.port),
            "ORCHARD_CLICKHOUSE_USER": self.user,
            "ORCHARD_CLICKHOUSE_PASSWORD": self.password,
            "ORCHARD_CLICKHOUSE_DATABASE": self.database,
            "ORCHARD_CLICKHOUSE_SECURE": "true" if self.secure else "false",
        }

    def airflow_connection(self) -> str:
        """These settings as the JSON value of an AIRFLOW_CONN_CLICKHOUSE_DEFAULT variable."""
        return json.dumps(
            {
                "conn_type": "generic",
                "host": self.host,
                "port": self.port,
                "login": self.user,
                "password": self.password,
                "schema": self.database,
                "extra": {"secure": self.secure},
            }
        )

    @classmethod
    def from_airflow_uri(cls, uri: str) -> ClickHouseSettings:
        """Parse an Airflow connection URI (or its JSON form) for ClickHouse."""
        if uri.lstrip().startswith("{"):
            data = json.loads(uri)
            extra = data.get("extra") or {}
            if isinstance(extra, str):
                extra = json.loads(extra or "{}")
            return cls(
                host=data.get("host") or DEFAULT_HOST,
                port=int(data.get("port") or DEFAULT_PORT),
                user=data.get("login") or "default",
                password=data.get("password") or "",
                database=data.get("schema") or "default",
                secure=str(extra.get("secure", "false")).lower() == "true",
            )
        parts = urlsplit(uri)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return cls(
            host=parts.hostname or DEFAULT_HOST,
            port=parts.port or DEFAULT_PORT,
            user=unquote(parts.username or "default"),
            password=unquote(parts.password or ""),
            database=parts.path.lstrip("/") or "default",
            secure=query.get("secure", "false").lower() == "true",
        )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> ClickHouseSettings:
        env = os.environ if environ is None else environ
        uri = env.get("AIRFLOW_CONN_" + CLICKHOUSE_CONN_ID.upper())
        if uri:
            return cls.from_airflow_uri(uri)
        return cls(
            host=env.get("ORCHARD_CLICKHOUSE_HOST", DEFAULT_HOST),
            port=int(env.get("ORCHARD_CLICKHOUSE_PORT", DEFAULT_PORT)),
            user=env.get("ORCHARD_CLICKHOUSE_USER", "default"),
            password=warehouse_password(env),
            database=env.get("ORCHARD_CLICKHOUSE_DATABASE", "default"),
            secure=env.get("ORCHARD_CLICKHOUSE_SECURE", "false").lower() == "true",
        )
