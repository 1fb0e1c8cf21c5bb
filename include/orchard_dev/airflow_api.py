"""A small client for Airflow 3's REST API (/api/v2), as `make run`, the e2e tests and the bench use it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

FINISHED = ("success", "failed")


class AirflowAPI:
    """Airflow's REST API with a token from the simple auth manager's login."""

    def __init__(self, url: str, user: str, password: str):
        self.url, self.user, self.password = url.rstrip("/"), user, password
        self._token: str | None = None

    @property
    def token(self) -> str:
        if self._token is None:
            body = json.dumps({"username": self.user, "password": self.password}).encode()
            request = urllib.request.Request(
                f"{self.url}/auth/token", data=body, headers={"Content-Type": "application/json"}
            )
            self._token = json.loads(urllib.request.urlopen(request, timeout=60).read())["access_token"]
        return self._token

    def api(self, method: str, path: str, body: dict | None = None) -> Any:
        request = urllib.request.Request(
            f"{self.url}/api/v2{path}",
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        for attempt in range(10):
            try:
                return json.loads(urllib.request.urlopen(request, timeout=60).read() or b"{}")
            except urllib.error.HTTPError as exc:
                # the api-server answers 503 for a moment when its workers are saturated on 2 shared cores
                if exc.code != 503 or attempt == 9:
                    raise
            except urllib.error.URLError:
                if attempt == 9:
                    raise
            except TimeoutError:
                # an overloaded api-server can take longer than the read timeout; only a read is safe to repeat
                if method != "GET" or attempt == 9:
                    raise
            time.sleep(3)
        raise AssertionError("unreachable")

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.api("GET", f"/dags/{dag_id}")
                return
            except urllib.error.HTTPError:
                time.sleep(2)
        raise TimeoutError(f"{dag_id} did not appear in Airflow within {timeout:.0f} s")

    def runs(self, dag_id: str) -> list[dict]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns?limit=100&order_by=-run_after")["dag_runs"]

    def wait_for_runs(self, dag_id: str, run_ids: set[str], timeout: float = 600) -> dict[str, dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = {r["dag_run_id"]: r for r in self.runs(dag_id) if r["dag_run_id"] in run_ids}
            if len(runs) == len(run_ids) and all(r["state"] in FINISHED for r in runs.values()):
                return runs
            time.sleep(3)
        raise TimeoutError(
            f"runs of {dag_id} did not finish within {timeout:.0f} s:\n{self.where_runs_stand(dag_id, run_ids)}"
        )

    def where_runs_stand(self, dag_id: str, run_ids: set[str]) -> str:
        """A line per run: its state, and its tasks that have not finished with their states."""
        lines = []
        for run_id in sorted(run_ids):
            try:
                run = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
                open_tasks = {
                    task_id: ti["state"]
                    for task_id, ti in self.task_instances(dag_id, run_id).items()
                    if ti["state"] not in ("success", "skipped", "failed", "upstream_failed", "removed")
                }
            except (urllib.error.URLError, OSError) as exc:
                lines.append(f"{run_id}: cannot read it ({exc})")
                continue
            lines.append(f"{run_id}: {run['state']}; unfinished tasks: {open_tasks or 'none'}")
        return "\n".join(lines)

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict]:
        """Every task instance of a run (the API pages by 100)."""
        found: dict[str, dict] = {}
        while True:
            page = self.api(
                "GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=100&offset={len(found)}"
            )["task_instances"]
            found.update({ti["task_id"]: ti for ti in page})
            if len(page) < 100:
                return found

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        data = self.api(
            "GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
        )
        return data["value"]
