"""A small client for Superset's REST API (/api/v1): log in, import a bundle, list, delete, sync a
dataset's columns with its table, run a chart's saved query."""

from __future__ import annotations

import json
from typing import Any

import requests

from orchard.bi.config import SupersetConnection

PAGE_SIZE = 100


class SupersetError(RuntimeError):
    """Superset answered with an error: the message carries the call and what Superset said."""


class SupersetAPI:
    def __init__(self, connection: SupersetConnection, timeout: float = 300):
        self.url = connection.url
        self.timeout = timeout
        self.session = requests.Session()
        try:
            login = self.session.post(
                f"{self.url}/api/v1/security/login",
                json={"username": connection.user, "password": connection.password, "provider": "db"},
                timeout=30,
            )
        except requests.ConnectionError as exc:
            raise SupersetError(
                f"Superset does not answer at {self.url}: start it (`orchard bi start`, `make up`) or fix "
                "ORCHARD_SUPERSET_URL / AIRFLOW_CONN_SUPERSET_DEFAULT"
            ) from exc
        if login.status_code != 200:
            raise SupersetError(
                f"Superset at {self.url} refused the login of {connection.user!r} ({login.status_code}): check "
                "ORCHARD_SUPERSET_USER / ORCHARD_SUPERSET_PASSWORD"
            )
        self.session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        # Writes need a CSRF token bound to the session cookie, as the web UI's do.
        self.session.headers["X-CSRFToken"] = self.call("GET", "/security/csrf_token/")["result"]
        self.session.headers["Referer"] = self.url

    def call(self, method: str, path: str, ok: tuple[int, ...] = (200, 201), **kwargs: Any) -> dict[str, Any]:
        response = self.session.request(method, f"{self.url}/api/v1{path}", timeout=self.timeout, **kwargs)
        if response.status_code not in ok:
            raise SupersetError(f"{method} {path}: {response.status_code} {_message(response)}")
        return response.json() if response.content else {}

    def list(self, resource: str, columns: list[str], filters: list[dict] | None = None) -> list[dict]:
        """Every row of a list endpoint (chart, dataset, dashboard, database), all pages."""
        rows: list[dict] = []
        page = 0
        while True:
            query = {"columns": columns, "page": page, "page_size": PAGE_SIZE, "filters": filters or []}
            result = self.call("GET", f"/{resource}/", params={"q": _rison(query)})["result"]
            rows.extend(result)
            if len(result) < PAGE_SIZE:
                return rows
            page += 1

    def import_dashboards(self, bundle: bytes, passwords: dict[str, str]) -> None:
        self.call(
            "POST",
            "/dashboard/import/",
            files={"formData": ("orchard_dashboards.zip", bundle, "application/zip")},
            data={"overwrite": "true", "passwords": json.dumps(passwords)},
        )

    def refresh_dataset(self, dataset_id: int) -> None:
        """Superset re-reads the table's columns: new ones appear, dropped ones go."""
        self.call("PUT", f"/dataset/{dataset_id}/refresh")

    def dataset_columns(self, dataset_id: int) -> dict[str, str]:
        result = self.call("GET", f"/dataset/{dataset_id}")["result"]
        return {column["column_name"]: column.get("type") or "" for column in result["columns"]}

    def chart_data(self, chart_id: int) -> list[dict[str, Any]]:
        """Run the chart's saved query (bypassing and refilling the cache); the results of its queries."""
        return self.call("GET", f"/chart/{chart_id}/data/", params={"force": "true"})["result"]


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:  # an HTML error page: the reason is in Superset's log
        return (
            "(no JSON in the answer: see Superset's log)"
            if "<html" in response.text[:200]
            else response.text[:500]
        )
    if "errors" in body:
        return "; ".join(str(error.get("message", error)) for error in body["errors"])
    return str(body.get("message", body))[:1000]


def _rison(value: Any) -> str:
    """Rison, the URL-friendly JSON that Superset's list endpoints take in `q`."""
    if isinstance(value, dict):
        return "(" + ",".join(f"{key}:{_rison(item)}" for key, item in value.items()) + ")"
    if isinstance(value, list | tuple):
        return "!(" + ",".join(_rison(item) for item in value) + ")"
    if isinstance(value, bool):
        return "!t" if value else "!f"
    if value is None:
        return "!n"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if text and all(c.isalnum() or c in "-_./~" for c in text) and not text[0].isdigit() and text[0] != "-":
        return text
    return "'" + text.replace("!", "!!").replace("'", "!'") + "'"
