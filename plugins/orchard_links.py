"""Airflow plugin: links in the Airflow UI to Orchard's dbt docs and dashboards.

The api-server mounts a small FastAPI app at /orchard: /orchard/docs/ serves the `dbt docs generate`
output of the last nightly run, /orchard/dashboards lists the dashboards (dbt exposures) with the
row counts the last BI refresh recorded. Two nav entries point at them.
"""

from __future__ import annotations

import html

from airflow.plugins_manager import AirflowPlugin
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from orchard import settings

app = FastAPI(title="Orchard links")
settings.DBT_DOCS_DIR.mkdir(parents=True, exist_ok=True)
app.mount("/docs", StaticFiles(directory=settings.DBT_DOCS_DIR, html=True, check_dir=False), name="dbt-docs")


@app.get("/dashboards", response_class=HTMLResponse)
def dashboards() -> str:
    """The dashboards and the marts behind them, with the rows counted by the last BI refresh."""
    rows: list[tuple] = []
    problem = ""
    try:
        from orchard.warehouse.client import get_client

        client = get_client()
        rows = client.query(
            "SELECT exposure, relation, argMax(row_count, refreshed_at), max(refreshed_at) "
            "FROM ops.bi_refresh GROUP BY exposure, relation ORDER BY exposure, relation"
        ).result_rows
    except Exception as exc:  # the page still renders and says why it is empty
        problem = f"No BI refresh recorded yet ({type(exc).__name__}): run orchard_nightly."
    body = "".join(
        f"<tr><td>{html.escape(str(e))}</td><td>{html.escape(str(r))}</td><td>{n:,}</td><td>{t}</td></tr>"
        for e, r, n, t in rows
    )
    return (
        "<html><head><title>Orchard dashboards</title></head><body><h1>Orchard dashboards</h1>"
        f"<p>{html.escape(problem)}</p><table border=1 cellpadding=4>"
        "<tr><th>dashboard</th><th>mart</th><th>rows</th><th>refreshed at</th></tr>"
        f"{body}</table><p><a href='../docs/'>dbt docs</a></p></body></html>"
    )


class OrchardLinksPlugin(AirflowPlugin):
    name = "orchard_links"
    fastapi_apps = [{"app": app, "url_prefix": "/orchard", "name": "Orchard links"}]
    external_views = [
        {"name": "dbt docs", "href": "/orchard/docs/", "destination": "nav", "category": "browse"},
        {"name": "Dashboards", "href": "/orchard/dashboards", "destination": "nav", "category": "browse"},
    ]
