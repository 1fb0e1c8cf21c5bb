"""Where alerts go: Slack incoming webhook, SMTP email, a generic JSON webhook, or the local alert log.

Channels are Airflow connections (ids in orchard.settings.ALERT_CONN_IDS); a channel whose
connection is missing is skipped. With none configured, the local alert log is the channel.
"""

from __future__ import annotations

import contextlib
import json
import logging
import smtplib
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from orchard import settings
from orchard.alerting.message import Alert

log = logging.getLogger(__name__)
TIMEOUT_S = 10


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
        values = [self.password, self.url if self.conn_type != "smtp" else ""]
        values += [str(v) for k, v in (self.extra or {}).get("headers", {}).items()]
        return [v for v in values if v]

    @property
    def url(self) -> str:
        """The webhook URL: extra.webhook_url, a full URL in host, or built from host/port/schema."""
        extra = self.extra or {}
        if extra.get("webhook_url"):
            return str(extra["webhook_url"])
        if "://" in self.host:
            return self.host
        if self.password.startswith("http"):
            return self.password
        scheme = extra.get("scheme", "https")
        port = f":{self.port}" if self.port else ""
        path = f"/{self.schema.lstrip('/')}" if self.schema else ""
        return f"{scheme}://{self.host}{port}{path}"


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


def _post_json(url: str, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    body = json.dumps(payload).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - URL from a connection
        response.read()


def send_slack(conn: ConnInfo, alert: Alert) -> None:
    _post_json(conn.url, {"text": alert.text()})


def send_webhook(conn: ConnInfo, alert: Alert) -> None:
    headers = {str(k): str(v) for k, v in (conn.extra or {}).get("headers", {}).items()}
    _post_json(conn.url, {"source": "orchard", **alert.as_dict(), "text": alert.text()}, headers)


def send_email(conn: ConnInfo, alert: Alert) -> None:
    extra = conn.extra or {}
    recipients = extra.get("to") or ""
    if isinstance(recipients, str):
        recipients = [r.strip() for r in recipients.split(",") if r.strip()]
    if not recipients:
        raise ValueError(
            f"connection {conn.conn_id} has no recipients: set extra {{'to': 'oncall@example.com'}}"
        )
    message = EmailMessage()
    message["Subject"] = alert.title
    message["From"] = extra.get("from") or conn.login or "orchard@localhost"
    message["To"] = ", ".join(recipients)
    message.set_content(alert.text())
    use_ssl = str(extra.get("ssl", "false")).lower() == "true"
    smtp_cls = smtplib.SMTP_SSL if use_ssl else smtplib.SMTP
    with smtp_cls(conn.host or "localhost", conn.port or (465 if use_ssl else 25), timeout=TIMEOUT_S) as smtp:
        if str(extra.get("starttls", "false")).lower() == "true":
            smtp.starttls()
        if conn.login and conn.password:
            smtp.login(conn.login, conn.password)
        smtp.send_message(message)


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
