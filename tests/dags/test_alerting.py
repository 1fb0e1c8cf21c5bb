"""Alert channels against real local listeners, the local fallback log, and `orchard alerts tail`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from orchard import settings
from orchard.alerting.channels import dispatch
from orchard.alerting.cli import app as alerts_app
from orchard.alerting.message import Alert, first_lines

pytestmark = pytest.mark.dags

SECRET = "hunter2-very-secret"


def make_alert(**overrides) -> Alert:
    error = first_lines(
        RuntimeError(f"Database Error: connect to http://default:{SECRET}@127.0.0.1:8123 failed")
    )
    values = {
        "kind": "task_failed",
        "dag_id": "orchard_nightly",
        "run_id": "scheduled__2026-11-20T02:00:00+00:00",
        "task_id": "transform.fct_orders.run",
        "logical_date": "2026-11-20T02:00:00+00:00",
        "try_number": 2,
        "error": error,
        "log_url": "http://localhost:8080/dags/orchard_nightly/runs/x/tasks/transform.fct_orders.run",
    }
    return Alert(**{**values, **overrides})


def test_each_channel_gets_one_message_naming_the_failure_and_no_secret(
    alert_channels, tmp_path, monkeypatch
):
    monkeypatch.setattr(settings, "ALERT_LOG", tmp_path / "alerts.jsonl")
    outcome = dispatch(make_alert())

    assert outcome == {"slack": "sent", "email": "sent", "webhook": "sent"}
    http, smtp = alert_channels["http"], alert_channels["smtp"]
    slack = http.bodies(alert_channels["slack_path"])
    hooks = http.bodies("/hook")
    assert len(slack) == 1 and len(hooks) == 1 and len(smtp.messages) == 1
    for text in (slack[0]["text"], hooks[0]["text"], smtp.messages[0]):
        for expected in (
            "orchard_nightly",
            "transform.fct_orders.run",
            "scheduled__2026-11-20",
            "2026-11-20T02:00",
        ):
            assert expected in text
        assert "Try: 2" in text and "Database Error" in text and "/tasks/transform.fct_orders.run" in text
        assert SECRET not in text and "slack-secret-token" not in text and "webhook-secret-value" not in text
    assert hooks[0]["dag_id"] == "orchard_nightly" and hooks[0]["try_number"] == 2
    assert not (tmp_path / "alerts.jsonl").exists(), "a delivered alert must not also go to the fallback log"


def test_without_channels_alerts_go_to_the_local_log_and_tail_shows_them(tmp_path, monkeypatch):
    log_path = tmp_path / "alerts.jsonl"
    monkeypatch.setattr(settings, "ALERT_LOG", log_path)
    outcome = dispatch(make_alert())
    assert outcome == {"local": str(log_path)}
    [line] = log_path.read_text().splitlines()
    assert json.loads(line)["task_id"] == "transform.fct_orders.run"
    assert SECRET not in line

    result = CliRunner().invoke(alerts_app, ["tail", "-n", "5"])
    assert result.exit_code == 0, result.output
    assert "task_failed" in result.output and "orchard_nightly" in result.output
    assert "Database Error" in result.output


def test_tail_says_when_there_are_no_alerts(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "ALERT_LOG", tmp_path / "missing.jsonl")
    result = CliRunner().invoke(alerts_app, ["tail"])
    assert result.exit_code == 0 and "No alerts yet" in result.output


def test_a_broken_channel_does_not_stop_the_others(alert_channels, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "ALERT_LOG", tmp_path / "alerts.jsonl")
    monkeypatch.setenv(
        "AIRFLOW_CONN_ORCHARD_SLACK",
        json.dumps({"conn_type": "slackwebhook", "host": "http://127.0.0.1:1", "password": "/refused"}),
    )
    outcome = dispatch(make_alert())
    assert (
        outcome["slack"].startswith("failed") and outcome["webhook"] == "sent" and outcome["email"] == "sent"
    )
    assert len(alert_channels["http"].bodies("/hook")) == 1


def test_when_every_channel_fails_the_alert_lands_in_the_local_log(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "ALERT_LOG", tmp_path / "alerts.jsonl")
    monkeypatch.setenv(
        "AIRFLOW_CONN_ORCHARD_WEBHOOK",
        json.dumps({"conn_type": "http", "host": "http://127.0.0.1:1/refused"}),
    )
    outcome = dispatch(make_alert())
    assert outcome["webhook"].startswith("failed") and "local" in outcome
    assert (tmp_path / "alerts.jsonl").exists()


def test_email_without_recipients_is_refused_with_the_fix(smtp_listener, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "ALERT_LOG", tmp_path / "alerts.jsonl")
    monkeypatch.setenv(
        "AIRFLOW_CONN_ORCHARD_SMTP",
        json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": smtp_listener.port}),
    )
    outcome = dispatch(make_alert())
    assert outcome["email"] == "failed: ValueError" and smtp_listener.messages == []
    assert "local" in outcome, "an undeliverable alert must still be kept"


def test_deadline_callback_names_the_run_from_airflows_context(alert_channels, tmp_path, monkeypatch):
    """The context Airflow 3.3's scheduler hands a deadline callback: the run as the REST API shows it.
    The callback runs in the triggerer's event loop, which every deferred task shares: it sends from a
    worker thread, not on the loop."""
    import asyncio
    import threading

    from orchard.alerting import notifier
    from orchard.alerting.notifier import deadline_missed

    monkeypatch.setattr(settings, "ALERT_LOG", tmp_path / "alerts.jsonl")
    senders = []

    def dispatch_noting_the_thread(alert):
        senders.append(threading.current_thread())
        return dispatch(alert)

    monkeypatch.setattr(notifier, "dispatch", dispatch_noting_the_thread)
    context = {
        "dag_run": {
            "dag_run_id": "scheduled__2026-11-21T02:00:00+00:00",
            "dag_id": "orchard_nightly",
            "logical_date": "2026-11-20T02:00:00Z",
        },
        "deadline": {"id": "0199", "deadline_time": "2026-11-21T06:00:00Z"},
    }
    asyncio.run(deadline_missed(dag_id="orchard_nightly", deadline="06:00 UTC", context=context))
    assert senders and threading.main_thread() not in senders  # asyncio.run's loop is on the main thread
    [hook] = alert_channels["http"].bodies("/hook")
    assert hook["kind"] == "deadline_missed" and hook["run_id"] == "scheduled__2026-11-21T02:00:00+00:00"
    assert "06:00 UTC" in hook["text"] and "2026-11-21T06:00:00Z" in hook["text"]
    assert hook["logical_date"] == "2026-11-20T02:00:00Z"
    assert len(alert_channels["smtp"].messages) == 1


def test_slack_connection_without_a_webhook_token_is_refused_with_the_fix(
    alert_channels, tmp_path, monkeypatch
):
    """The old shape (the whole URL in host) is not what SlackWebhookHook reads: say how to write it."""
    monkeypatch.setattr(settings, "ALERT_LOG", tmp_path / "alerts.jsonl")
    monkeypatch.setenv(
        "AIRFLOW_CONN_ORCHARD_SLACK", json.dumps({"conn_type": "http", "host": "https://hooks.slack.com/x"})
    )
    outcome = dispatch(make_alert())
    assert outcome["slack"] == "failed: ValueError"
    assert outcome["webhook"] == "sent" and alert_channels["http"].bodies(alert_channels["slack_path"]) == []
    from orchard.alerting.channels import ConnInfo, send_slack

    with pytest.raises(
        ValueError, match=r"orchard_slack has no webhook: set its password to the Slack webhook URL"
    ):
        send_slack(ConnInfo(conn_id="orchard_slack", host="https://hooks.slack.com/x"), make_alert())


def test_webhook_headers_nested_under_headers_are_refused_with_the_fix(alert_channels, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "ALERT_LOG", tmp_path / "alerts.jsonl")
    nested = {"headers": {"Authorization": "Token webhook-secret-value"}}
    monkeypatch.setenv(
        "AIRFLOW_CONN_ORCHARD_WEBHOOK",
        json.dumps({"conn_type": "http", "host": alert_channels["http"].url("/hook"), "extra": nested}),
    )
    outcome = dispatch(make_alert())
    assert outcome["webhook"] == "failed: ValueError" and alert_channels["http"].bodies("/hook") == []
    assert outcome["slack"] == "sent"  # the other channels still page
    from orchard.alerting.channels import ConnInfo, send_webhook

    with pytest.raises(ValueError, match=r'put them directly in extra \(\{"Authorization"'):
        send_webhook(ConnInfo(conn_id="orchard_webhook", extra=nested), make_alert())


def test_webhook_url_in_extra_is_refused_with_the_fix():
    from orchard.alerting.channels import ConnInfo, send_webhook

    conn = ConnInfo(conn_id="orchard_webhook", extra={"webhook_url": "https://events.example.com/x"})
    with pytest.raises(ValueError, match=r"put the URL in the connection's host"):
        send_webhook(conn, make_alert())
