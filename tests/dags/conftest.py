"""Fixtures for the DAG tier: a throwaway AIRFLOW_HOME with migrated SQLite metadata, and real local
listeners (an HTTP server and an SMTP server) that alert channels send to."""

from __future__ import annotations

import email
import json
import os
import socketserver
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # dagtest_helpers, imported by the run tests

# Airflow reads AIRFLOW_HOME when it is first imported: set it before any test module imports airflow.
_HOME = Path(tempfile.mkdtemp(prefix="orchard-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(__file__).resolve().parents[2] / "dags")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
os.environ["ORCHARD_ALERT_LOG"] = str(_HOME / "alerts.jsonl")


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    """AIRFLOW_HOME with its metadata database migrated (once per session, ~5 s)."""
    subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
        check=True,
        capture_output=True,
        env={**os.environ},
    )
    return _HOME


class HttpListener:
    """A local HTTP server that records every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                listener.received.append((self.path, json.loads(body or b"{}")))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self, path: str) -> list[dict]:
        return [body for p, body in self.received if p == path]


class SmtpListener:
    """A minimal SMTP server (enough of RFC 5321 for smtplib) that records each message's DATA."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        listener = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, text: str) -> None:
                self.wfile.write((text + "\r\n").encode())

            def handle(self):
                self.reply("220 localhost test SMTP")
                while line := self.rfile.readline():
                    command = line.decode(errors="replace").strip().upper()
                    if command.startswith("EHLO"):
                        self.reply("250-localhost\r\n250 8BITMIME")
                    elif command.startswith("DATA"):
                        self.reply("354 end with <CRLF>.<CRLF>")
                        data = []
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data.append(chunk.decode(errors="replace"))
                        message = email.message_from_string("".join(data))
                        body = message.get_payload(decode=True).decode()
                        listener.messages.append(f"Subject: {message['Subject']}\n{body}")
                        self.reply("250 queued")
                    elif command.startswith("QUIT"):
                        self.reply("221 bye")
                        return
                    else:  # HELO, MAIL, RCPT, RSET, NOOP
                        self.reply("250 ok")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def http_listener():
    listener = HttpListener()
    yield listener
    listener.server.shutdown()


@pytest.fixture
def smtp_listener():
    listener = SmtpListener()
    yield listener
    listener.server.shutdown()


@pytest.fixture
def alert_channels(http_listener, smtp_listener, monkeypatch):
    """All three alert channels configured as Airflow connections pointing at the local listeners."""
    conns = {
        "AIRFLOW_CONN_ORCHARD_SLACK": {
            "conn_type": "http",
            "host": http_listener.url("/services/T000/B000/slack-secret-token"),
        },
        "AIRFLOW_CONN_ORCHARD_WEBHOOK": {
            "conn_type": "http",
            "host": http_listener.url("/hook"),
            "extra": {"headers": {"Authorization": "Token webhook-secret-value"}},
        },
        "AIRFLOW_CONN_ORCHARD_SMTP": {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": smtp_listener.port,
            "extra": {"from": "orchard@example.com", "to": "oncall@example.com"},
        },
    }
    for key, value in conns.items():
        monkeypatch.setenv(key, json.dumps(value))
    return {
        "http": http_listener,
        "smtp": smtp_listener,
        "slack_path": "/services/T000/B000/slack-secret-token",
    }


FIXTURE_PROJECT = Path(__file__).parent / "fixtures" / "tiny_dbt"


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory) -> Path:
    """A copy of the tiny dbt project with its manifest built; orchard.settings point at it for the session
    (in-process through the settings module, in child processes through ORCHARD_DBT_* variables)."""
    import shutil

    from orchard import settings
    from orchard.transform.manifest import build_manifest

    project = tmp_path_factory.mktemp("tiny") / "dbt"
    shutil.copytree(FIXTURE_PROJECT, project)
    saved = (settings.DBT_PROJECT_DIR, settings.DBT_MANIFEST_PATH)
    settings.DBT_PROJECT_DIR = project
    settings.DBT_MANIFEST_PATH = project / "target" / "manifest.json"
    os.environ["ORCHARD_DBT_PROJECT_DIR"] = str(project)
    os.environ["ORCHARD_DBT_MANIFEST"] = str(settings.DBT_MANIFEST_PATH)
    build_manifest(project)
    yield project
    settings.DBT_PROJECT_DIR, settings.DBT_MANIFEST_PATH = saved
    os.environ.pop("ORCHARD_DBT_PROJECT_DIR", None)
    os.environ.pop("ORCHARD_DBT_MANIFEST", None)


@pytest.fixture(scope="session")
def dag_warehouse(tmp_path_factory):
    """A warehouse of the DAG tier's own: DAG runs write prod-named databases (staging, marts, raw_*),
    which must not meet other tiers' tables in the session warehouse."""
    import socket
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    root = tmp_path_factory.mktemp("dag-warehouse")
    log = open(root / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchard.warehouse.server", "--path", str(root / "data"), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"GET /ping HTTP/1.0\r\n\r\n")
                if b"Ok." in sock.recv(1024):
                    break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"warehouse did not start: {(root / 'server.log').read_text()}") from None
            time.sleep(0.2)
    from orchard.settings import ClickHouseSettings

    yield ClickHouseSettings(port=port)
    proc.terminate()
    proc.wait(timeout=30)
