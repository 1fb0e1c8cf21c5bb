"""Orchard's settings: every default lives here, every value can be overridden by environment.

`OrchardSettings` reads the ORCHARD_* variables once, typed (pydantic-settings: one rule for booleans,
`1/true/yes/on`); the module constants below are its values, which the rest of the code imports.
The warehouse is resolved by `ClickHouseSettings.resolve()`: the Airflow connection `clickhouse_default`
inside a task, the same connection from AIRFLOW_CONN_CLICKHOUSE_DEFAULT or ORCHARD_CLICKHOUSE_* outside.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, TypeAdapter
from pydantic_settings import BaseSettings, SettingsConfigDict

CLICKHOUSE_CONN_ID = "clickhouse_default"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8123


class OrchardSettings(BaseSettings):
    """The ORCHARD_* environment, typed. Paths left unset derive from the state directory."""

    model_config = SettingsConfigDict(env_prefix="ORCHARD_", extra="ignore")

    home: Path = Path(__file__).resolve().parents[2]
    state_dir: Path | None = None
    warehouse_path: Path | None = None
    data_dir: Path | None = None
    dbt_project_dir: Path | None = None
    dbt_manifest: Path | None = None
    dbt_docs_dir: Path | None = None
    dbt_artifacts_dir: Path | None = None
    alert_log: Path | None = None
    shop_db_url: str | None = None
    airflow_home: Path | None = Field(None, validation_alias="AIRFLOW_HOME")
    airflow_dbt_target: str = "prod"
    render_granularity: str = "model"  # model | tag | layer
    execution_mode: str = "watcher"  # watcher | local
    dbt_enable_grants: bool = False
    deadline_alerts: bool = True
    nightly_deadline_after_s: float = 4 * 3600
    nightly_catchup: bool = True
    nightly_start_date: str = "2026-11-01T00:00:00+00:00"
    task_retries: int = 2
    task_retry_delay_s: float = 120
    # how often a WATCHER model task looks for its node's status (Cosmos's default is 10 s)
    watcher_poke_interval_s: float = 1
    # a WATCHER task whose node succeeded ends in the triggerer, with no worker resume (no asset event either)
    watcher_end_in_triggerer: bool = True


WAREHOUSE_PASSWORD_FILE = "clickhouse-password"


def generated_warehouse_password(state_dir: Path) -> str:
    """The embedded warehouse's password in <state dir>/clickhouse-password, created owner-only on first use:
    never passwordless by accident, and every client on the machine finds the same one."""
    path = Path(state_dir) / WAREHOUSE_PASSWORD_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: two processes starting at once agree on one password
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(24) + "\n")
    return path.read_text().strip()


def default_warehouse_password() -> str:
    return os.environ.get("ORCHARD_CLICKHOUSE_PASSWORD") or generated_warehouse_password(STATE_DIR)


def truthy(value: Any) -> bool:
    """The one rule for booleans in settings and connection extras: pydantic's (1/true/yes/on, 0/false/no/off)."""
    return TypeAdapter(bool).validate_python(value)


_env = OrchardSettings()

PROJECT_ROOT = _env.home
STATE_DIR = _env.state_dir or PROJECT_ROOT / ".orchard"
WAREHOUSE_PATH = _env.warehouse_path or STATE_DIR / "warehouse"
DATA_DIR = _env.data_dir or STATE_DIR / "data"
DBT_PROJECT_DIR = _env.dbt_project_dir or PROJECT_ROOT / "dbt"

# On-call alerting: channels are Airflow connections; without any, alerts go to this local log.
ALERT_LOG = _env.alert_log or STATE_DIR / "alerts" / "alerts.jsonl"
ALERT_CONN_IDS = {"slack": "orchard_slack", "email": "orchard_smtp", "webhook": "orchard_webhook"}
AIRFLOW_HOME = _env.airflow_home or STATE_DIR / "airflow"

# Airflow's dbt target is prod, so models land in the fixed databases (staging, marts, ...) that BI reads.
DBT_AIRFLOW_TARGET = _env.airflow_dbt_target


def airflow_manifest_path(project_dir: Path) -> Path:
    """Where `orchard dbt manifest` writes the manifest the DAGs render from: a target path of its own, as a
    developer's `dbt build --target dev` rewrites target/manifest.json with dev schemas."""
    return project_dir / "target" / f"airflow-{DBT_AIRFLOW_TARGET}" / "manifest.json"


DBT_MANIFEST_PATH = _env.dbt_manifest or airflow_manifest_path(DBT_PROJECT_DIR)
RENDER_GRANULARITY = _env.render_granularity
# WATCHER ran the nightly 2-3x faster than LOCAL on this machine: bench/orchestration prints both.
EXECUTION_MODE = _env.execution_mode
CLICKHOUSE_POOL = "clickhouse"
# One dbt build at a time across every DAG (one slot, airflow_settings.yaml): two builds of the same models
# race on dbt's table swaps, and an Airflow 3 backfill does not count against max_active_runs.
DBT_BUILD_POOL = "dbt_build"
# dbt grants need ClickHouse access control, which the embedded warehouse lacks: on only when asked for.
DBT_ENABLE_GRANTS = _env.dbt_enable_grants
# `airflow dags test` in 3.3.2 crashes finishing a run of a DAG with a deadline alert: its runs turn it off.
DEADLINE_ALERTS = _env.deadline_alerts
NIGHTLY_DEADLINE_AFTER_S = _env.nightly_deadline_after_s  # queued at 02:00 UTC, due by 06:00 UTC
TASK_RETRIES = _env.task_retries
TASK_RETRY_DELAY_S = _env.task_retry_delay_s
WATCHER_POKE_INTERVAL_S = _env.watcher_poke_interval_s
# orchard.transform.watcher_trigger: a model's task then records no asset event for its model; false keeps the
# worker resume (~6 s a task on two loaded cores, bench/orchestration) and the events
WATCHER_END_IN_TRIGGERER = _env.watcher_end_in_triggerer
NIGHTLY_CATCHUP = _env.nightly_catchup
NIGHTLY_START_DATE = _env.nightly_start_date
DBT_DOCS_DIR = _env.dbt_docs_dir or STATE_DIR / "dbt-docs"
# each Cosmos task's run_results.json, for the alert of a failed test (orchard.transform.run_results)
DBT_ARTIFACTS_DIR = _env.dbt_artifacts_dir or STATE_DIR / "dbt-artifacts"
SHOP_DB_URL = _env.shop_db_url or f"sqlite:///{STATE_DIR / 'shop.sqlite'}"

# Usage telemetry of dbt, dlt and Cosmos goes to outside endpoints: off unless a user opts in. Each entry
# point (the orchard CLI, scripts/airflow_local.py, the Dockerfile, the Makefile, tests) sets it.
TELEMETRY_OFF = {
    "DO_NOT_TRACK": "1",
    "SCARF_NO_ANALYTICS": "true",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "false",
}


def disable_telemetry() -> None:
    """Switch telemetry off in this process's environment (and so in its children), unless already set."""
    for key, value in TELEMETRY_OFF.items():
        os.environ.setdefault(key, value)


def _airflow_task_running() -> bool:
    sdk = sys.modules.get("airflow.sdk")  # only a process that imported Airflow can be running a task
    if sdk is None:
        return False
    try:
        sdk.get_current_context()
    except Exception:  # RuntimeError outside a task
        return False
    return True


@dataclass(frozen=True)
class ClickHouseSettings:
    """Where the warehouse is and who we are there: one set for dlt, dbt, BI and Orchard."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    user: str = "default"
    # the embedded warehouse's password: ORCHARD_CLICKHOUSE_PASSWORD, else the one generated on first use
    password: str = field(default_factory=default_warehouse_password)
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
        """Parse an Airflow connection URI (or its JSON form) for ClickHouse; a malformed one is refused with
        a message naming the fix (and never the URI, which holds the password)."""
        try:
            return cls._parse_airflow_uri(uri)
        except (ValueError, TypeError, AttributeError) as exc:
            problem = (
                str(exc).splitlines()[0] if isinstance(exc, ValueError | TypeError) else type(exc).__name__
            )
            raise ValueError(
                f"the {CLICKHOUSE_CONN_ID} connection (AIRFLOW_CONN_{CLICKHOUSE_CONN_ID.upper()}) is malformed "
                f"({problem}): write it as clickhouse://user:password@host:8123/database or as Airflow's JSON "
                'form {"conn_type": "generic", "host": ..., "port": 8123, "login": ..., "password": ...}'
            ) from None

    @classmethod
    def _parse_airflow_uri(cls, uri: str) -> ClickHouseSettings:
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
                secure=truthy(extra.get("secure", False)),
            )
        parts = urlsplit(uri)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return cls(
            host=parts.hostname or DEFAULT_HOST,
            port=parts.port or DEFAULT_PORT,
            user=unquote(parts.username or "default"),
            password=unquote(parts.password or ""),
            database=parts.path.lstrip("/") or "default",
            secure=truthy(query.get("secure", False)),
        )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> ClickHouseSettings:
        """From AIRFLOW_CONN_CLICKHOUSE_DEFAULT if set, else the ORCHARD_CLICKHOUSE_* variables."""
        env = os.environ if environ is None else environ
        uri = env.get("AIRFLOW_CONN_" + CLICKHOUSE_CONN_ID.upper())
        if uri:
            return cls.from_airflow_uri(uri)
        prefix = "ORCHARD_CLICKHOUSE_"
        values = {k.removeprefix(prefix).lower(): v for k, v in env.items() if k.startswith(prefix)}
        if not values.get("password"):  # none set, or empty: the field's default
            values.pop("password", None)
        return TypeAdapter(cls).validate_python(values)  # typed as the fields say, booleans by `truthy`

    @classmethod
    def resolve(cls) -> ClickHouseSettings:
        """The warehouse as every component finds it: inside an Airflow task the `clickhouse_default`
        connection wherever Airflow keeps it (metadata database, secrets backend, environment), as dbt's
        profile does; elsewhere `from_env()`."""
        if not _airflow_task_running():
            return cls.from_env()
        from airflow.sdk import Connection

        conn = Connection.get(CLICKHOUSE_CONN_ID)
        return cls(
            host=conn.host or DEFAULT_HOST,
            port=conn.port or DEFAULT_PORT,
            user=conn.login or "default",
            password=conn.password or "",
            database=conn.schema or "default",
            secure=truthy(conn.extra_dejson.get("secure", False)),
        )
