"""The dbt results a run keeps for `ops`: each node counted once, by its latest result."""

from __future__ import annotations

import json
import os

import pytest

from orchard import settings
from orchard.orchestration.artifacts import collect, run_dir, summarize

pytestmark = pytest.mark.unit


def write_results(path, results, mtime):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"metadata": {"invocation_id": path.stem}, "results": results}))
    os.utime(path, (mtime, mtime))


def test_a_cleared_and_rerun_node_counts_once_by_its_latest_result(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "DBT_ARTIFACTS_DIR", tmp_path)
    folder = run_dir("orchard_nightly", "manual__2026-11-20T02:00:00+00:00")
    model, test = "model.orchard.fct_orders", "test.orchard.not_null_fct_orders_id"
    # the first try (file name sorts last, written first) failed; the fallback re-run succeeded
    write_results(folder / "z_first_try.json", [{"unique_id": model, "status": "error"}], 1_000)
    write_results(
        folder / "a_rerun.json",
        [{"unique_id": model, "status": "success"}, {"unique_id": test, "status": "pass"}],
        2_000,
    )
    rows = collect("orchard_nightly", "manual__2026-11-20T02:00:00+00:00")
    assert len(rows) == 3  # every result stays in ops.dbt_run_results, with its invocation
    summary = summarize(rows)
    assert summary["models_built"] == 1 and summary["tests_passed"] == 1 and summary["tests_failed"] == 0
