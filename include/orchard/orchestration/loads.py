"""The extract-load task body: one registered source's pipeline, bounded by the data interval."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from orchard.sources.registry import get

log = logging.getLogger(__name__)


def connection_url(conn_id: str) -> str | None:
    """The URL an Airflow connection holds (its `url` extra, else its URI); None when it is not defined,
    so the pipeline falls back to its own default (the local sample database, a data folder)."""
    try:
        from airflow.sdk import Connection

        conn = Connection.get(conn_id)
    except Exception:  # not defined: the pipeline's default
        return None
    return str(conn.extra_dejson.get("url") or conn.get_uri())


def load_source(
    source: str,
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    selected: list[str] | None = None,
) -> dict[str, Any]:
    """Run one source's load for [start, end) (everything when start is None); a source the trigger
    params left out is not loaded."""
    spec = get(source)
    if selected is not None and source not in selected:
        log.info("source %s not selected in this run's params (%s): nothing loaded", source, selected)
        return {"source": source, "skipped": True, "rows": {}}
    interval = (data_interval_start, data_interval_end) if data_interval_start else None
    location = connection_url(spec.connection_id) if spec.connection_id else None
    report = spec.run(location, interval)
    log.info("%s", report.format())
    return {
        "source": source,
        "rows": dict(report.rows),
        "quarantined": dict(report.quarantined),
        "interval": list(report.interval) if report.interval else None,
    }
