"""The e2e tier: Orchard's local Airflow (scripts/airflow_local.py up) in production's shape, on free ports
and a throwaway state directory, with the tiny dbt project: the CeleryExecutor with two workers and a Redis
broker (started by `up`), metadata on a throwaway PostgreSQL (tests/services.py), and the shop app database on
that PostgreSQL too. Stopped with `down` at the end of the session. The warehouse reaches tasks through the
`clickhouse_default` connection in the metadata database, as `make up` writes it, so a test can move it through
the REST API. The shop database reaches tasks the same way: the `shop_db` connection (type `postgres`, a
read-only user), added there as an operator would; outside Airflow (the simulator) it is ORCHARD_SHOP_DB_URL."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alert_listeners import (
    SLACK_PATH,
    SMTP_LOGIN,
    SMTP_PASSWORD,
    HttpListener,
    SmtpListener,
    channel_connections,
)
from dagtest_helpers import copy_tiny_project

from orchard.warehouse.lifecycle import free_port
from orchard_dev.airflow_api import AirflowAPI

ROOT = Path(__file__).resolve().parents[2]

PASSWORD = "orchard-e2e-password"
SHOP_START = (
    "2026-10-01"  # the shop app's first day, and the DAGs' start date: test_backfill_fortnight's dates
)
SHOP_MODELS = Path(__file__).parent / "shop_dbt"
REAL_MACROS = ROOT / "dbt" / "macros"
REAL_SNAPSHOTS = ROOT / "dbt" / "snapshots"
DEADLINE_S = 10


class Airflow(AirflowAPI):
    """A running local deployment: its REST API, environment, state directory and alert listeners."""

    def __init__(self, url: str, env: dict[str, str], state: Path, channels: dict, shop_url: str):
        super().__init__(url, "admin", PASSWORD)
        self.env, self.state, self.channels = env, state, channels
        self.shop_url = shop_url  # the shop app database on PostgreSQL that the loads read
        self.deadline_s = DEADLINE_S
        self.stuck = ""  # the report of the first wait that timed out

    def wait_for_runs(self, dag_id: str, run_ids: set[str], timeout: float = 600) -> dict[str, dict]:
        """As AirflowAPI's, but once one wait has timed out the deployment is stuck: later tests fail at once
        with that first report instead of each waiting out its own timeout."""
        self.fail_if_stuck()
        try:
            return super().wait_for_runs(dag_id, run_ids, timeout)
        except TimeoutError as exc:
            self.stuck = f"{exc}\n{self.services_report()}"
            raise TimeoutError(self.stuck) from None

    def fail_if_stuck(self) -> None:
        if self.stuck:
            pytest.fail(f"an earlier run did not finish, so this test cannot be judged:\n{self.stuck}")

    def services_report(self) -> str:
        """Which services still run (`airflow_local.py status`) and the last lines of each one's log."""
        script = [sys.executable, str(ROOT / "scripts" / "airflow_local.py"), "status"]
        status = subprocess.run(script, env=self.env, capture_output=True, text=True, timeout=120)
        tails = [
            f"--- {log.name}, last lines:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            for log in sorted((self.state / "airflow" / "service-logs").glob("*.log"))
        ]
        return "\n".join([status.stdout + status.stderr, *tails])

    def wait_for_backfills_to_complete(self, dag_id: str, timeout: float = 180) -> None:
        """Airflow runs one backfill per DAG at a time; the scheduler closes one after its runs end."""
        self.fail_if_stuck()
        deadline = time.monotonic() + timeout
        while any(not b["completed_at"] for b in self.api("GET", f"/backfills?dag_id={dag_id}")["backfills"]):
            assert time.monotonic() < deadline, f"an earlier backfill of {dag_id} did not complete"
            time.sleep(3)

    def script(self, *args: str) -> None:
        """`scripts/airflow_local.py <args>` on this deployment (e.g. `restart triggerer`); fails the test
        with its output if it fails."""
        proc = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "airflow_local.py"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    def task_log_folder(self, dag_id: str, run_id: str, task_id: str) -> Path:
        """Where the deployment's task logs of one task instance go (attempt=N.log, and the trigger's
        attempt=N.log.trigger.<job>.log)."""
        return (
            self.state / "airflow" / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        )

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """The `airflow` CLI against this deployment, in the environment `airflow_local.py env` prints."""
        script = [sys.executable, str(ROOT / "scripts" / "airflow_local.py"), "env"]
        exports = subprocess.run(script, env=self.env, capture_output=True, text=True, check=True).stdout
        env = dict(self.env)
        for line in exports.splitlines():
            key, value = line.removeprefix("export ").split("=", 1)
            env[key] = json.loads(value)
        airflow = str(Path(sys.executable).parent / "airflow")
        return subprocess.run([airflow, *args], env=env, capture_output=True, text=True, timeout=300)

    def alerts(self, kind: str, run_id: str | None = None) -> dict[str, list[str]]:
        """The alerts of a kind (task_failed, run_failed, deadline_missed) each channel received."""
        http, smtp = self.channels["http"], self.channels["smtp"]
        by_channel = {
            "slack": [b["text"] for b in http.bodies(SLACK_PATH)],
            "webhook": [b["text"] for b in http.bodies("/hook")],
            "email": list(smtp.messages),
        }
        title = f"[orchard] {kind.replace('_', ' ')}"
        return {
            channel: [m for m in texts if title in m and (run_id is None or run_id in m)]
            for channel, texts in by_channel.items()
        }


SHOP_READER = "shop_reader"


def shop_connection(url: str) -> dict:
    """A read-only user of the shop database, as a `postgres` connection for the REST API: the fields an operator
    types in the UI. The loads only read the app database."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    password = secrets.token_hex(12)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for statement in (
                f"CREATE ROLE {SHOP_READER} LOGIN PASSWORD '{password}'",
                f'GRANT CONNECT ON DATABASE "{parsed.database}" TO {SHOP_READER}',
                f"GRANT USAGE ON SCHEMA public TO {SHOP_READER}",
                f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {SHOP_READER}",
            ):
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()
    return {
        "connection_id": "shop_db",
        "conn_type": "postgres",
        "host": parsed.host,
        "port": parsed.port,
        "login": SHOP_READER,
        "password": password,
        "schema": parsed.database,
    }


def add_shop_models(project: Path) -> None:
    """The tiny project gets shop models in the real project's patterns (incremental by load time, a table
    over it), tagged `intraday` as the real shop models are, the real snapshot of shop orders, and the real
    macros they use: marts that depend on which shop rows were loaded, and when, for the backfill test."""
    shutil.copytree(SHOP_MODELS, project, dirs_exist_ok=True)
    for macro in ("incremental_window.sql", "utils.sql"):
        shutil.copyfile(REAL_MACROS / macro, project / "macros" / macro)
    shutil.copyfile(REAL_SNAPSHOTS / "snp_shop__orders.sql", project / "snapshots" / "snp_shop__orders.sql")


def _yesterday() -> str:
    return (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


def _running(pid: str) -> bool:
    """Whether the process runs (a zombie waiting for its parent to reap it does not)."""
    try:
        return Path(f"/proc/{int(pid)}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, ValueError):
        return False


@pytest.fixture(scope="session")
def airflow_up(postgres):
    """`scripts/airflow_local.py up` with everything on free ports under a temp dir; `down` afterwards."""
    state = Path(tempfile.mkdtemp(prefix="orchard-e2e-"))
    project = state / "dbt"
    copy_tiny_project(project)
    add_shop_models(project)
    api_port, ch_port = free_port(), free_port()
    env = {
        **os.environ,
        "ORCHARD_STATE_DIR": str(state),
        "ORCHARD_AIRFLOW_PORT": str(api_port),
        "ORCHARD_AIRFLOW_PASSWORD": PASSWORD,
        "ORCHARD_EXECUTOR": "celery",
        "ORCHARD_FLOWER_PORT": str(free_port()),
        "ORCHARD_AIRFLOW_DB_URL": postgres.create_database("airflow"),
        "ORCHARD_CLICKHOUSE_HOST": "127.0.0.1",
        "ORCHARD_CLICKHOUSE_PORT": str(ch_port),
        "ORCHARD_DBT_PROJECT_DIR": str(project),
        "ORCHARD_DBT_MANIFEST": str(project / "target" / "manifest.json"),
        "ORCHARD_NIGHTLY_START_DATE": SHOP_START + "T00:00:00+00:00",
        "ORCHARD_NIGHTLY_CATCHUP": "false",  # unpausing must not queue weeks of runs on a 2-core machine
        "ORCHARD_TASK_RETRIES": "0",
        "ORCHARD_ALERT_LOG": str(state / "alerts.jsonl"),
        # every nightly run here takes longer than this: each one shows the deadline alert firing
        "ORCHARD_NIGHTLY_DEADLINE_AFTER_S": str(DEADLINE_S),
    }
    # the shop app database: ORCHARD_SHOP_DB_URL outside Airflow, as ORCHARD_CLICKHOUSE_* is for the warehouse
    env["ORCHARD_SHOP_DB_URL"] = shop_url = postgres.create_database("shop")
    http, smtp = HttpListener(), SmtpListener()
    channels = channel_connections(http, smtp)
    # the mail relay wants a login, as a production one does: its password is one more secret to keep
    channels["AIRFLOW_CONN_ORCHARD_SMTP"] |= {"login": SMTP_LOGIN, "password": SMTP_PASSWORD}
    env.update({key: json.dumps(value) for key, value in channels.items()})
    for key in (
        "AIRFLOW_HOME",
        "AIRFLOW__CORE__DAGS_FOLDER",
        "AIRFLOW_CONN_CLICKHOUSE_DEFAULT",
        "ORCHARD_REDIS_PORT",
        "AIRFLOW_CONN_SHOP_DB",  # it would shadow the stored shop_db connection
    ):
        env.pop(key, None)
    script = [sys.executable, str(ROOT / "scripts" / "airflow_local.py")]
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from orchard_dev.instacart_sample.generator import write_sample as w; import sys; "
            "w(__import__('pathlib').Path(sys.argv[1]), 0.0002, 3)",
            str(state / "data" / "instacart"),
        ],
        env=env,
        check=True,
    )
    # the shop app's days up to yesterday: every run here (a date, a backfill, a run without one) finds its own
    subprocess.run(
        [
            str(Path(sys.executable).parent / "orchard"),
            "sample",
            "shop",
            "--start",
            SHOP_START,
            "--until",
            _yesterday(),
        ],
        env=env,
        check=True,
    )
    try:
        up = subprocess.run([*script, "up"], env=env, capture_output=True, text=True, timeout=600)
        assert up.returncode == 0, up.stdout[-5000:] + up.stderr[-5000:]
        airflow = Airflow(f"http://localhost:{api_port}", env, state, {"http": http, "smtp": smtp}, shop_url)
        airflow.up_output = up.stdout
        airflow.api("POST", "/connections", shop_connection(shop_url))
        airflow.wait_for_dag("orchard_nightly")
        yield airflow
    finally:
        pid_files = [*(state / "airflow" / "pids").glob("*.pid"), state / "warehouse.pid"]
        pids = {p.stem: p.read_text().split()[0] for p in pid_files if p.exists() and p.read_text().strip()}
        down = subprocess.run([*script, "down"], env=env, capture_output=True, text=True, timeout=300)
        http.server.shutdown()
        smtp.server.shutdown()
        left = {name: pid for name, pid in pids.items() if _running(pid)}
        assert down.returncode == 0 and not left, f"`down` left {left} running:\n{down.stdout}{down.stderr}"
