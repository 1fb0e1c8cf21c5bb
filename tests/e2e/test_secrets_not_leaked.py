"""After the tier's real runs and alerts (the files before this one: pytest runs them in name order), no
alert-channel secret is written anywhere in the deployment's state: task and service logs, the alert log,
dbt's artifacts, the warehouse log and Airflow's metadata database (rendered task fields included)."""

from __future__ import annotations

import pytest
from alert_listeners import SLACK_PATH

pytestmark = pytest.mark.e2e

SECRETS = {
    "Slack webhook token": SLACK_PATH.rsplit("/", 1)[-1].encode(),
    "webhook Authorization token": b"webhook-secret-value",
}


@pytest.mark.reliability(
    fault="alert-channel secrets (Slack webhook token, webhook Authorization header) in a deployment that "
    "ran, failed and alerted",
    behaviour="no task log, service log, alert log, dbt artifact or metadata row holds either secret",
)
def test_no_secret_in_any_file_of_the_deployment(airflow_up):
    sent = airflow_up.channels["http"].bodies(SLACK_PATH)
    if not sent:
        pytest.skip("no alert was sent in this session: run the whole e2e tier, whose runs fail and alert")
    files = [p for p in airflow_up.state.rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" for p in files), "no log to check"
    leaks = [
        f"{name} in {path.relative_to(airflow_up.state)}"
        for path in files
        for name, secret in SECRETS.items()
        if secret in path.read_bytes()
    ]
    assert leaks == []
