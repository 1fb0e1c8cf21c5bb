"""What broke, for an alert on a failed dbt test: a sample of the failing rows, the owner of the model under
test and the dlt loads that fed it.

Read from dbt's own artifacts (run_results.json, which every Cosmos task keeps through
orchard.orchestration.artifacts, and the manifest) and the warehouse: the failing rows from the test's
stored failures (`store_failures`), or else by running the test's compiled query with a limit; the loads
from the `_dlt_load_id` of the raw tables the model reads, through its sources.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
SAMPLE_ROWS = 5
VALUE_CHARS = 80  # a long text value is cut: the alert is a pointer, not a dump
FAILED = {"fail", "error"}


@dataclass
class FailedTest:
    test: str  # the test's unique_id
    model: str  # the tested model's name
    owner: str  # the model's meta.owner ("" when it has none)
    failures: int | None
    message: str
    failing_rows: list[dict[str, Any]] = field(default_factory=list)
    stored_in: str = ""  # the stored failures' relation, when the test stores them
    loads: list[dict[str, Any]] = field(default_factory=list)  # source, table, load_id, rows

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        lines = [
            f"dbt test {self.test} failed ({self.failures if self.failures is not None else '?'} failures)",
            f"  model: {self.model}   owner: {self.owner or '(no meta.owner)'}",
        ]
        for load in self.loads:
            lines.append(
                f"  fed by load {load['load_id']} of {load['source']}.{load['table']} ({load['rows']} rows)"
            )
        if self.failing_rows:
            where = f" (all in {self.stored_in})" if self.stored_in else ""
            lines.append(f"  failing rows{where}:")
            lines += [f"    {json.dumps(row, default=str)}" for row in self.failing_rows]
        return "\n".join(lines)


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > VALUE_CHARS:
        return value[:VALUE_CHARS] + "..."
    return value if isinstance(value, int | float | bool | type(None)) else str(value)


def _query_rows(client: Any, sql: str) -> list[dict[str, Any]]:
    result = client.query(sql)
    return [
        {k: _short(v) for k, v in zip(result.column_names, row, strict=True)} for row in result.result_rows
    ]


def _tested_model(test: dict, nodes: dict) -> dict | None:
    attached = test.get("attached_node")
    candidates = [attached] if attached else test.get("depends_on", {}).get("nodes", [])
    for unique_id in candidates:
        if unique_id in nodes and nodes[unique_id].get("resource_type") in ("model", "snapshot", "seed"):
            return nodes[unique_id]
    return None


def _upstream_sources(model: dict, manifest: dict) -> list[dict]:
    """The sources the model reads, directly or through other models."""
    nodes, sources = manifest.get("nodes", {}), manifest.get("sources", {})
    seen: set[str] = set()
    stack, found = list(model.get("depends_on", {}).get("nodes", [])), []
    while stack:
        unique_id = stack.pop()
        if unique_id in seen:
            continue
        seen.add(unique_id)
        if unique_id in sources:
            found.append(sources[unique_id])
        elif unique_id in nodes:
            stack += nodes[unique_id].get("depends_on", {}).get("nodes", [])
    return sorted(found, key=lambda s: s["unique_id"])


def _latest_load(client: Any, source: dict) -> dict[str, Any] | None:
    """The newest dlt load that wrote rows to the source's table, and how many."""
    table = f"`{source['schema']}`.`{source.get('identifier') or source['name']}`"
    try:
        rows = client.query(
            f"SELECT _dlt_load_id, count() FROM {table} GROUP BY _dlt_load_id ORDER BY _dlt_load_id DESC LIMIT 1"
        ).result_rows
    except Exception as exc:  # not a dlt table (no _dlt_load_id), or gone: the alert goes out without it
        log.info("no load information for %s: %s", table, type(exc).__name__)
        return None
    if not rows:
        return None
    return {
        "source": source.get("source_name", ""),
        "table": source.get("identifier") or source["name"],
        "load_id": rows[0][0],
        "rows": int(rows[0][1]),
    }


def _failing_rows(client: Any, result: dict) -> tuple[list[dict[str, Any]], str]:
    relation = result.get("relation_name") or ""
    try:
        if relation:
            return _query_rows(client, f"SELECT * FROM {relation} LIMIT {SAMPLE_ROWS}"), relation
        code = (result.get("compiled_code") or "").strip().rstrip(";")
        if code:
            return _query_rows(client, f"SELECT * FROM ({code}) LIMIT {SAMPLE_ROWS}"), ""
    except Exception as exc:  # the sample is a help; its absence must not stop the alert
        log.info("could not read the failing rows of %s: %s", result.get("unique_id"), type(exc).__name__)
    return [], relation


def failed_tests(
    run_results: dict, manifest: dict, client: Any, model_unique_id: str | None = None
) -> list[FailedTest]:
    """The failed tests of one dbt invocation (of one model's tests if `model_unique_id` is given)."""
    nodes = manifest.get("nodes", {})
    failures = []
    for result in run_results.get("results", []):
        unique_id = result.get("unique_id", "")
        if not unique_id.startswith("test.") or result.get("status") not in FAILED:
            continue
        test = nodes.get(unique_id, {})
        model = _tested_model(test, nodes)
        if model_unique_id and (model or {}).get("unique_id") != model_unique_id:
            continue
        rows, stored_in = _failing_rows(client, result)
        meta = {**(model or {}).get("config", {}).get("meta", {}), **(model or {}).get("meta", {})}
        loads = [load for s in _upstream_sources(model or {}, manifest) if (load := _latest_load(client, s))]
        failures.append(
            FailedTest(
                test=unique_id,
                model=(model or {}).get("name", ""),
                owner=str(meta.get("owner") or ""),
                failures=result.get("failures"),
                message=str(result.get("message") or "").splitlines()[0] if result.get("message") else "",
                failing_rows=rows,
                stored_in=stored_in,
                loads=loads,
            )
        )
    return failures


def for_task(context: dict[str, Any], client: Any = None) -> list[FailedTest]:
    """The failed dbt tests behind a failed task: from the run_results.json its Cosmos task kept (or, for a
    WATCHER model task, the producer's, filtered to its model). Empty when the task ran no dbt test."""
    from orchard import settings
    from orchard.orchestration.artifacts import run_dir

    ti = context.get("ti") or context.get("task_instance")
    if ti is None or not settings.DBT_MANIFEST_PATH.exists():
        return []
    folder = run_dir(ti.dag_id, ti.run_id)
    if not folder.is_dir():
        return []
    task = context.get("task")
    model = getattr(task, "model_unique_id", None)
    own = [p for p in folder.glob("*.json") if p.stem == ti.task_id]
    paths: list[Path] = own or sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
    if not own and not model:
        return []  # not a dbt task of this run: another task's failures are not this alert's
    manifest = json.loads(settings.DBT_MANIFEST_PATH.read_text())
    own_client = client is None
    if own_client:
        from orchard.warehouse.client import get_client

        client = get_client()
    found: dict[str, FailedTest] = {}
    try:
        for path in paths:  # oldest first: a rerun's result replaces the earlier one
            results = json.loads(path.read_text())
            for failure in failed_tests(results, manifest, client, None if own else model):
                found[failure.test] = failure
    finally:
        if own_client:
            client.close()
    return list(found.values())
