"""After the tier's real runs and alerts (the files before this one: pytest runs them in name order), no
secret of the deployment is written anywhere it could be read: the warehouse password (the session's
generated ORCHARD_CLICKHOUSE_PASSWORD, which the `clickhouse_default` connection carries to every task), the
SMTP relay's password, the Slack webhook token and the webhook's Authorization token.

Searched: every file of the deployment's state (task and service logs, the alert log, dbt's artifacts and
target folder, the warehouse log, generated configs), every alert the listeners received, a dump of Airflow's
metadata database (the serialized DAG, rendered task fields, XComs, the audit log; connection passwords are
Fernet-encrypted there) and the warehouse's ops tables (dbt's node results) and query log."""

from __future__ import annotations

import json
import subprocess

import pytest
from alert_listeners import SLACK_PATH, SMTP_LOGIN, SMTP_PASSWORD
from services import postgres_bin

from orchard.settings import ClickHouseSettings
from orchard.warehouse.client import get_client

pytestmark = pytest.mark.e2e


def _secrets(airflow_up) -> dict[str, bytes]:
    return {
        "warehouse password": ClickHouseSettings.from_env(airflow_up.env).password.encode(),
        "SMTP password": SMTP_PASSWORD.encode(),
        "Slack webhook token": SLACK_PATH.rsplit("/", 1)[-1].encode(),
        "webhook Authorization token": b"webhook-secret-value",
    }


def _metadata_dump(airflow_up) -> bytes:
    """pg_dump of the Airflow metadata database, data only."""
    url = airflow_up.env["ORCHARD_AIRFLOW_DB_URL"].replace("+psycopg2", "")
    dump = subprocess.run(
        [str(postgres_bin() / "pg_dump"), "--data-only", url], capture_output=True, timeout=120
    )
    assert dump.returncode == 0, dump.stderr.decode(errors="replace")
    return dump.stdout


def _warehouse_texts(airflow_up) -> dict[str, bytes]:
    """Every ops table (dbt's node results, the BI refresh) as TSV, and the query log's statements."""
    client = get_client(ClickHouseSettings.from_env(airflow_up.env))
    try:
        tables = [
            t for (t,) in client.query("SELECT name FROM system.tables WHERE database = 'ops'").result_rows
        ]
        texts = {f"ops.{t}": client.raw_query(f"SELECT * FROM ops.`{t}`", fmt="TSV") for t in tables}
        client.command("SYSTEM FLUSH LOGS")
        texts["system.query_log"] = client.raw_query("SELECT query FROM system.query_log", fmt="TSV")
        return texts
    finally:
        client.close()


@pytest.mark.reliability(
    fault="secrets in a deployment that ran, failed and alerted: the warehouse password, the SMTP relay's "
    "password, the Slack webhook token, the webhook's Authorization header",
    behaviour="none of them is in any task log, service log, alert, dbt artifact, the metadata database "
    "(serialized DAG, rendered task fields, XComs) or the warehouse's ops tables and query log",
)
def test_no_secret_in_any_file_of_the_deployment(airflow_up):
    smtp = airflow_up.channels["smtp"]
    if not smtp.messages:
        pytest.skip("no alert was sent in this session: run the whole e2e tier, whose runs fail and alert")
    secrets = _secrets(airflow_up)
    # each secret was in use: the warehouse demanded its password, the relay received its login
    assert "password required" in (airflow_up.state / "warehouse.log").read_text()
    assert (SMTP_LOGIN, SMTP_PASSWORD) in smtp.logins, smtp.logins
    files = [p for p in airflow_up.state.rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" for p in files) and any(p.suffix == ".json" for p in files), (
        "nothing to check"
    )
    places = {str(p.relative_to(airflow_up.state)): p.read_bytes() for p in files}
    # what was sent, not where to: the Slack webhook's URL path is its token
    bodies = [body for _, body in airflow_up.channels["http"].received]
    places["alerts received"] = json.dumps([bodies, smtp.messages], ensure_ascii=False).encode()
    places["Airflow metadata database"] = dump = _metadata_dump(airflow_up)
    assert b"COPY public.rendered_task_instance_fields" in dump and b"COPY public.serialized_dag" in dump
    places.update(_warehouse_texts(airflow_up))
    leaks = [
        f"{name} in {place}" for place, text in places.items() for name, s in secrets.items() if s in text
    ]
    assert leaks == []
