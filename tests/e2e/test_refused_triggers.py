"""Bad triggers and backfills through Airflow's REST API (what the UI sends): refused with a message naming
the problem, and no run or backfill created. A few API calls on the tier's one deployment."""

from __future__ import annotations

import json
import urllib.error
from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.e2e

DAG = "orchard_nightly"


def refused(airflow_up, method: str, path: str, body: dict) -> tuple[int, str]:
    """The status and message of a request Airflow must refuse."""
    with pytest.raises(urllib.error.HTTPError) as err:
        airflow_up.api(method, path, body)
    return err.value.code, err.value.read().decode()


def created(airflow_up) -> tuple[set[str], set[int]]:
    runs = {r["dag_run_id"] for r in airflow_up.runs(DAG)}
    backfills = {b["id"] for b in airflow_up.api("GET", f"/backfills?dag_id={DAG}")["backfills"]}
    return runs, backfills


@pytest.mark.reliability(
    fault="a manual trigger with an unknown source or a logical date that is not a date",
    behaviour="the REST API (and so the UI) refuses it naming the param or field; no run is created",
)
def test_bad_manual_triggers_are_refused(airflow_up):
    before = created(airflow_up)
    status, message = refused(
        airflow_up, "POST", f"/dags/{DAG}/dagRuns", {"logical_date": None, "conf": {"sources": ["shopify"]}}
    )
    assert (
        status == 400
        and "Invalid input for param sources" in message
        and "'shopify' is not one of" in message
    )
    status, message = refused(
        airflow_up, "POST", f"/dags/{DAG}/dagRuns", {"logical_date": "last tuesday", "conf": {}}
    )
    assert status == 422 and "logical_date" in message and "datetime" in message.lower()
    assert created(airflow_up) == before


@pytest.mark.reliability(
    fault="a backfill whose range is reversed or in the future",
    behaviour="Airflow refuses it saying which (`from_date ... must not be after to_date`, `future dates`); "
    "no backfill or run is created",
)
def test_bad_backfills_are_refused(airflow_up):
    # Airflow checks "a backfill already runs" (409) before the dates: wait for the tier's earlier ones
    airflow_up.wait_for_backfills_to_complete(DAG)
    before = created(airflow_up)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

    def backfill(start: datetime, end: datetime) -> tuple[int, str]:
        body = {
            "dag_id": DAG,
            "from_date": start.isoformat(),
            "to_date": end.isoformat(),
            "max_active_runs": 1,
        }
        return refused(airflow_up, "POST", "/backfills", body)

    status, message = backfill(today - timedelta(days=2), today - timedelta(days=5))
    assert 400 <= status < 500 and "must not be after to_date" in json.loads(message)["detail"]
    status, message = backfill(today + timedelta(days=30), today + timedelta(days=35))
    assert 400 <= status < 500 and "future dates" in json.loads(message)["detail"]
    assert created(airflow_up) == before
