"""The extract-load task bodies: each calls the dlt pipeline for one source, bounded by the data interval."""

from __future__ import annotations

import fcntl
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from orchard import settings

log = logging.getLogger(__name__)


def _advance_shop(db_url: str, until: datetime) -> None:
    """Let the shop sample app run up to the interval end, so the load has that day's activity to read.

    The simulation only moves forward: for a backfill of an earlier date the days are already there,
    and a real shop database (not built by the simulator) is left alone.
    """
    from orchard.sources.shop.sample import ShopSampleError, simulate

    # The app's days run midnight to midnight (UTC): simulate the days that ended by `until` only,
    # so no row is stamped after the interval this run loads; the rest comes with the next run.
    last_day = until.astimezone(UTC).date() - timedelta(days=1)
    lock_path = settings.STATE_DIR / "shop-sample.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    # Runs of a backfill load in parallel; the simulation must advance one at a time.
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            simulate(db_url, until=last_day)
        except ShopSampleError as exc:
            log.info("shop sample database not advanced: %s", exc)


def shop_db_url() -> str:
    """The shop database URL: the `shop_db` Airflow connection's URI if defined, else the sample SQLite."""
    try:
        from airflow.sdk import Connection

        conn = Connection.get("shop_db")
        if conn.extra_dejson.get("url"):
            return str(conn.extra_dejson["url"])
        return conn.get_uri()
    except Exception:  # no connection: the local sample database
        return settings.SHOP_DB_URL


def load_source(
    source: str,
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    selected: list[str] | None = None,
    advance_sample: bool = True,
) -> dict[str, Any]:
    """Run one source's load for [start, end) (everything when start is None); a source the trigger
    params left out is not loaded."""
    from orchard.load import run_instacart, run_shop

    if selected is not None and source not in selected:
        log.info("source %s not selected in this run's params (%s): nothing loaded", source, selected)
        return {"source": source, "skipped": True, "rows": {}}
    interval = (data_interval_start, data_interval_end) if data_interval_start else None
    if source == "instacart":
        report = run_instacart(None, interval)
    elif source == "shop":
        db_url = shop_db_url()
        if advance_sample and db_url.startswith("sqlite"):
            # without an interval (a manual run with no logical date) the sample app runs up to now
            _advance_shop(db_url, data_interval_end or datetime.now(UTC))
        report = run_shop(db_url, interval)
    else:
        raise ValueError(f"unknown source {source!r}: expected one of instacart, shop")
    log.info("%s", report.format())
    return {
        "source": source,
        "rows": dict(report.rows),
        "quarantined": dict(report.quarantined),
        "interval": list(report.interval) if report.interval else None,
    }
