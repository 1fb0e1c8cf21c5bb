"""Local stand-ins for the alert channels' far ends: an HTTP server (Slack, webhooks) and an SMTP server
that record what they receive, for tests to assert on."""

from __future__ import annotations

import base64
import email
import html
import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
        self.logins: list[tuple[str, str]] = []  # (user, password) of each AUTH PLAIN or LOGIN
        listener = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, text: str) -> None:
                self.wfile.write((text + "\r\n").encode())

            def handle(self):
                self.reply("220 localhost test SMTP")
                while line := self.rfile.readline():
                    words = line.decode(errors="replace").split()
                    command = " ".join(words).upper()
                    if command.startswith("EHLO"):
                        self.reply("250-localhost\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME")
                    elif command.startswith("AUTH"):
                        listener.logins.append(self.authenticate(words))
                        self.reply("235 authenticated")
                    elif command.startswith("DATA"):
                        self.reply("354 end with <CRLF>.<CRLF>")
                        data = []
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data.append(chunk.decode(errors="replace"))
                        message = email.message_from_string("".join(data))
                        parts = [p for p in message.walk() if p.get_content_maintype() == "text"]
                        body = "\n".join(html.unescape(p.get_payload(decode=True).decode()) for p in parts)
                        listener.messages.append(f"Subject: {message['Subject']}\n{body}")
                        self.reply("250 queued")
                    elif command.startswith("QUIT"):
                        self.reply("221 bye")
                        return
                    else:  # HELO, MAIL, RCPT, RSET, NOOP
                        self.reply("250 ok")

            def answer(self, prompt: str) -> str:
                self.reply(f"334 {prompt}")
                return base64.b64decode(self.rfile.readline().strip()).decode()

            def authenticate(self, words: list[str]) -> tuple[str, str]:
                """AUTH PLAIN (RFC 4616) or LOGIN, with or without the initial response: any login passes."""
                if words[1].upper() == "PLAIN":
                    plain = base64.b64decode(words[2]).decode() if len(words) > 2 else self.answer("")
                    _, user, password = plain.split("\0")
                    return user, password
                user = base64.b64decode(words[2]).decode() if len(words) > 2 else self.answer("VXNlcm5hbWU6")
                return user, self.answer("UGFzc3dvcmQ6")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


SLACK_PATH = "/services/T000/B000/slack-secret-token"
SMTP_LOGIN, SMTP_PASSWORD = "orchard-alerts", "smtp-secret-value"  # a relay that wants a login (e2e sets it)


def channel_connections(http: HttpListener, smtp: SmtpListener) -> dict[str, dict]:
    """The three alert channels as Airflow connection env vars (AIRFLOW_CONN_ORCHARD_*) aimed at the listeners."""
    return {
        # as apache-airflow-providers-slack reads it: the base URL in host, the webhook token in password
        "AIRFLOW_CONN_ORCHARD_SLACK": {
            "conn_type": "slackwebhook",
            "host": http.url(""),
            "password": SLACK_PATH,
        },
        # as -http reads it: extra keys other than its options are request headers
        "AIRFLOW_CONN_ORCHARD_WEBHOOK": {
            "conn_type": "http",
            "host": http.url("/hook"),
            "extra": {"Authorization": "Token webhook-secret-value"},
        },
        # as -smtp reads it: the local listener speaks neither SSL nor STARTTLS
        "AIRFLOW_CONN_ORCHARD_SMTP": {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": smtp.port,
            "extra": {
                "from_email": "orchard@example.com",
                "to": "oncall@example.com",
                "disable_ssl": True,
                "disable_tls": True,
            },
        },
    }
