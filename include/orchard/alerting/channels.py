"""Where alerts go: Slack incoming webhook, SMTP email, a generic JSON webhook, or the local alert log.

Channels are Airflow connections (ids in orchard.settings.ALERT_CONN_IDS) sent through Airflow's own
provider notifiers: SlackWebhookNotifier (apache-airflow-providers-slack), SmtpNotifier (-smtp) and
HttpNotifier (-http), so a connection works as those providers document it. A channel whose connection is
missing is skipped; with none configured, the local alert log is the channel. Orchard keeps what the
providers do not do: one alert per final failure, redaction, and the local log when nothing delivered.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchard import settings
from orchard.alerting.message import Alert

log = logging.getLogger(__name__)
TIMEOUT_S = 10
# HttpHook's own connection options; every other key of an HTTP connection's extra is a request header
HTTP_OPTIONS = {
    "stream", "cert", "proxies", "proxy", "timeout", "verify", "verify_ssl", "allow_redirects",
    "max_redirects", "trust_env", "check_response", "srv_lookup",
}  # fmt: skip


@dataclass
class ConnInfo:
    """The connection fields a channel needs, independent of where the connection came from."""

    conn_id: str
    conn_type: str = ""
    host: str = ""
    port: int | None = None
    login: str = ""
    password: str = ""
    schema: str = ""
    extra: dict[str, Any] | None = None

    @property
    def secrets(self) -> list[str]:
        """Values that must never appear in an alert: the password (a Slack webhook's token) and, for
        HTTP connections, the request headers their extra carries (an Authorization token)."""
        values = [self.password]
        if self.conn_type != "smtp":
            values += [
                str(v) for k, v in (self.extra or {}).items() if k not in HTTP_OPTIONS and isinstance(v, str)
            ]
        return [v for v in values if v]


def lookup_connection(conn_id: str) -> ConnInfo | None:
    """Find an Airflow connection (env var, secrets backend or metadata DB); None if it is not defined."""
    try:
        from airflow.sdk import Connection

        conn = Connection.get(conn_id)
    except Exception as exc:  # not defined, or no Airflow context to ask: both mean "not configured"
        log.debug("alert channel %s not configured: %s", conn_id, type(exc).__name__)
        return None
    if conn is None:
        return None
    return ConnInfo(
        conn_id=conn_id,
        conn_type=conn.conn_type or "",
        host=conn.host or "",
        port=conn.port,
        login=conn.login or "",
        password=conn.password or "",
        schema=conn.schema or "",
        extra=conn.extra_dejson or {},
    )


def send_slack(conn: ConnInfo, alert: Alert) -> None:
    from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

    if not conn.password:
        raise ValueError(
            f"connection {conn.conn_id} has no webhook: set its password to the Slack webhook URL "
            "(https://hooks.slack.com/services/...) or token, as apache-airflow-providers-slack reads it"
        )
    # notify(), not the notifier's __call__: the text is final, and an error quoting Jinja braces must
    # not be rendered as a template
    SlackWebhookNotifier(slack_webhook_conn_id=conn.conn_id, text=alert.text(), timeout=TIMEOUT_S).notify({})


def send_webhook(conn: ConnInfo, alert: Alert) -> None:
    from airflow.providers.http.notifications.http import HttpNotifier

    extra = conn.extra or {}
    if isinstance(extra.get("headers"), dict):
        raise ValueError(
            f"connection {conn.conn_id} nests its headers under extra.headers: put them directly in extra "
            '({"Authorization": "Token ..."}), as apache-airflow-providers-http reads them'
        )
    if extra.get("webhook_url"):  # -http would send it on as a request header
        raise ValueError(
            f"connection {conn.conn_id} has its URL in extra.webhook_url: put the URL in the connection's "
            "host (https://events.example.com/orchard), as apache-airflow-providers-http reads it"
        )
    payload = {"source": "orchard", **alert.as_dict(), "text": alert.text()}
    HttpNotifier(http_conn_id=conn.conn_id, json=payload, extra_options={"timeout": TIMEOUT_S}).notify({})


def send_email(conn: ConnInfo, alert: Alert) -> None:
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    extra = conn.extra or {}
    recipients = extra.get("to") or ""
    if isinstance(recipients, str):
        recipients = [r.strip() for r in recipients.split(",") if r.strip()]
    if not recipients:
        raise ValueError(
            f"connection {conn.conn_id} has no recipients: set extra {{'to': 'oncall@example.com'}}"
        )
    SmtpNotifier(
        smtp_conn_id=conn.conn_id,
        to=recipients,
        from_email=extra.get("from_email") or extra.get("from") or conn.login or "orchard@localhost",
        subject=alert.title,
        html_content=f"<pre>{html.escape(alert.text(), quote=False)}</pre>",
    ).notify({})


def write_local(alert: Alert, path: Path | None = None) -> Path:
    """Append the alert as one JSON line to the local alert log (read by `orchard alerts tail`)."""
    path = path or settings.ALERT_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(alert.as_dict()) + "\n")
    return path


SENDERS = {"slack": send_slack, "email": send_email, "webhook": send_webhook}


def dispatch(alert: Alert) -> dict[str, str]:
    """Send the alert to every configured channel; fall back to the local log. Returns channel -> outcome.

    A broken channel never raises: the failure is logged and the other channels still get the alert;
    if no channel delivered, the local log gets it so nothing is lost.
    """
    conns = {name: lookup_connection(conn_id) for name, conn_id in settings.ALERT_CONN_IDS.items()}
    secrets = [s for conn in conns.values() if conn for s in conn.secrets]
    with contextlib.suppress(Exception):  # a malformed warehouse URI just adds nothing to scrub
        secrets.append(settings.ClickHouseSettings.resolve().password)
    safe = alert.redacted(secrets)
    outcome: dict[str, str] = {}
    for name, conn in conns.items():
        if conn is None:
            continue
        try:
            SENDERS[name](conn, safe)
            outcome[name] = "sent"
        except Exception as exc:
            outcome[name] = f"failed: {type(exc).__name__}"
            log.error("alert channel %s (%s) failed: %s", name, conn.conn_id, type(exc).__name__)
    if not any(v == "sent" for v in outcome.values()):
        outcome["local"] = str(write_local(safe))
    # The task log always carries the alert, whatever the channels did.
    log.error("ALERT %s\n%s\n(channels: %s)", safe.kind, safe.text(), outcome)
    return outcome
