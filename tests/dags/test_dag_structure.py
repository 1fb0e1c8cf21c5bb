"""Structure of the pipeline DAGs for each render granularity: loads before models, snapshots after loads,
freshness and publish downstream; and the refusals (missing/stale manifest, bad params, bad selector)."""

from __future__ import annotations

import os

import pytest
from dagtest_helpers import build_dag

from orchard import settings

pytestmark = pytest.mark.dags

LOADS = {"extract_load.load_instacart", "extract_load.load_shop"}


def ancestors(dag, task_id: str) -> set[str]:
    return {t.task_id for t in dag.get_task(task_id).get_flat_relatives(upstream=True)}


def descendants(dag, task_id: str) -> set[str]:
    return {t.task_id for t in dag.get_task(task_id).get_flat_relatives(upstream=False)}


def test_per_model_local_renders_one_build_task_per_node_between_loads_and_publish(tiny_project):
    dag = build_dag("orchard_nightly", granularity="model", execution_mode="local")
    transform = {t for t in dag.task_ids if t.startswith("transform.")}
    assert transform == {
        "transform.tiny_labels_seed_build",
        "transform.snap_tiny_labels_snapshot_build",
        "transform.stg_tiny__numbers_model_build",
        "transform.int_tiny__labelled_model_build",
        "transform.fct_tiny_model_build",
    }
    # dbt's own order inside the group, loads before every model and snapshot.
    assert "transform.stg_tiny__numbers_model_build" in ancestors(
        dag, "transform.int_tiny__labelled_model_build"
    )
    assert "transform.tiny_labels_seed_build" in ancestors(dag, "transform.snap_tiny_labels_snapshot_build")
    for task_id in transform:
        assert ancestors(dag, task_id) >= LOADS, task_id
        assert dag.get_task(task_id).pool == "dbt_build", task_id  # LOCAL: every model task builds
    assert ancestors(dag, "source_freshness") >= LOADS
    publish = {"publish.ops_marts", "publish.bi_refresh", "publish.dbt_docs"}
    assert publish <= set(dag.task_ids)
    for task_id in publish:
        assert transform | {"source_freshness"} <= ancestors(dag, task_id)
    # the ops marts report on dbt's runs: built after every other model, before the BI refresh reads them
    ops = dag.get_task("publish.ops_marts")
    assert ops.select == ["tag:ops"] and "publish.ops_marts" in ancestors(dag, "publish.bi_refresh")
    assert [a.name for a in ops.outlets] == ["marts.ops_tiny_report"]
    # each model task runs `dbt build` of the model: its tests are in the same task
    assert type(dag.get_task("transform.fct_tiny_model_build")).__name__ == "DbtBuildLocalOperator"
    assert [a.name for a in dag.get_task("transform.fct_tiny_model_build").outlets] == ["marts.fct_tiny"]
    assert {a.name for a in dag.get_task("extract_load.load_shop").outlets} >= {
        "raw_shop.orders",
        "raw_shop.events",
    }


def test_per_layer_chains_layers_in_order(tiny_project):
    dag = build_dag("orchard_nightly", granularity="layer")
    layers = ["seeds", "snapshots", "staging", "intermediate", "marts"]
    ids = [f"transform.build_{layer}" for layer in layers]
    assert {t for t in dag.task_ids if t.startswith("transform.")} == set(ids)
    for before, after in zip(ids, ids[1:], strict=False):
        assert dag.get_task(after).upstream_task_ids == {before}
    assert dag.get_task("transform.build_marts").select == ["tag:marts"]
    assert dag.get_task("transform.build_marts").exclude == ["tag:ops"]  # built in publish.ops_marts
    assert ancestors(dag, "transform.build_seeds") >= LOADS
    assert "transform.build_marts" in ancestors(dag, "publish.bi_refresh")


def test_per_tag_follows_the_dependencies_between_tags(tiny_project):
    dag = build_dag("orchard_nightly", granularity="tag")
    assert {t for t in dag.task_ids if t.startswith("transform.")} == {
        f"transform.build_{tag}" for tag in ("seeds", "snapshots", "staging", "intermediate", "marts")
    }
    # staging reads no seed: the two start in parallel, right after the loads and the freshness gate
    assert dag.get_task("transform.build_staging").upstream_task_ids == {"source_freshness"}
    assert dag.get_task("source_freshness").upstream_task_ids == LOADS
    assert dag.get_task("transform.build_intermediate").upstream_task_ids == {
        "transform.build_staging",
        "transform.build_seeds",
    }
    assert dag.get_task("transform.build_snapshots").upstream_task_ids == {"transform.build_seeds"}


def test_intraday_builds_only_intraday_models_from_the_shop_load(tiny_project):
    dag = build_dag("orchard_intraday", granularity="model", execution_mode="local")
    assert {t for t in dag.task_ids if t.startswith("transform.")} == {
        "transform.stg_tiny__numbers_model_build"
    }
    assert {t for t in dag.task_ids if t.startswith("extract_load.")} == {"extract_load.load_shop"}
    assert "publish.bi_refresh" not in dag.task_ids
    watcher = build_dag("orchard_intraday", granularity="model")
    assert watcher.get_task("transform.dbt_producer_watcher").select == "tag:intraday"


def test_full_refresh_passes_full_refresh_to_dbt(tiny_project):
    dag = build_dag("orchard_full_refresh", granularity="model", execution_mode="local")
    assert dag.get_task("transform.fct_tiny_model_build").full_refresh is True
    nightly = build_dag("orchard_nightly", granularity="model", execution_mode="local")
    assert nightly.get_task("transform.fct_tiny_model_build").full_refresh == "{{ params.full_refresh }}"
    watcher = build_dag("orchard_full_refresh", granularity="model")
    assert watcher.get_task("transform.dbt_producer_watcher").full_refresh is True


def test_unknown_granularity_is_refused_with_the_choices(tiny_project):
    with pytest.raises(ValueError, match="ORCHARD_RENDER_GRANULARITY.*model"):
        build_dag("orchard_nightly", granularity="folder")


def test_missing_manifest_fails_the_import_and_says_how_to_build_it(tiny_project, monkeypatch, tmp_path):
    from orchard.transform.manifest import ManifestError

    monkeypatch.setattr(settings, "DBT_MANIFEST_PATH", tmp_path / "nope" / "manifest.json")
    with pytest.raises(ManifestError, match="not found.*orchard dbt manifest"):
        build_dag("orchard_nightly")


def test_stale_manifest_fails_the_import_and_names_the_newer_file(tiny_project):
    from orchard.transform.manifest import ManifestError

    model = tiny_project / "models" / "marts" / "fct_tiny.sql"
    before = model.stat().st_mtime
    later = settings.DBT_MANIFEST_PATH.stat().st_mtime + 5
    os.utime(model, (later, later))
    try:
        with pytest.raises(ManifestError, match="fct_tiny.sql.*stale.*orchard dbt manifest"):
            build_dag("orchard_nightly")
    finally:
        os.utime(model, (before, before))
    build_dag("orchard_nightly")  # up to date again: renders


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("sources", ["instacart", "warehouse"]),
        ("sources", "shop"),
        ("full_refresh", "yes"),
    ],
)
def test_trigger_params_are_validated(tiny_project, name, value):
    from airflow.sdk.exceptions import ParamValidationError

    dag = build_dag("orchard_nightly")
    with pytest.raises(ParamValidationError):
        dag.params.get_param(name).resolve(value)


def test_adhoc_select_param_refuses_shell_metacharacters():
    from airflow.sdk.exceptions import ParamValidationError

    from orchard.orchestration.params import select

    assert select().resolve("+fct_tiny tag:marts,tag:nightly") == "+fct_tiny tag:marts,tag:nightly"
    for bad in ("fct; rm -rf /", "", "$(whoami)"):
        with pytest.raises(ParamValidationError):
            select().resolve(bad)


def test_per_model_watcher_is_the_default_one_producer_feeding_a_task_per_node(tiny_project):
    dag = build_dag("orchard_nightly", granularity="model")
    producer = dag.get_task("transform.dbt_producer_watcher")  # runs the one `dbt build`
    assert type(producer).__name__ == "DbtProducerWatcherOperator"
    assert ancestors(dag, "transform.dbt_producer_watcher") >= LOADS | {"source_freshness"}
    assert producer.full_refresh == "{{ params.full_refresh }}" and producer.retries == 0
    # a task per seed, snapshot and model (with its tests), watching the producer, in dbt's order
    assert {
        "transform.tiny_labels_seed",
        "transform.snap_tiny_labels_snapshot",
        "transform.stg_tiny__numbers_run",
        "transform.fct_tiny.run",
        "transform.fct_tiny.test",
    } <= set(dag.task_ids)
    assert "transform.stg_tiny__numbers_run" in ancestors(dag, "transform.fct_tiny.run")
    for task_id in ("transform.fct_tiny.run", "transform.tiny_labels_seed"):
        assert ancestors(dag, task_id) >= LOADS | {"source_freshness"}, task_id
        assert task_id in ancestors(dag, "publish.bi_refresh")
    assert [a.name for a in dag.get_task("transform.fct_tiny.run").outlets] == ["marts.fct_tiny"]
    assert producer.exclude == "tag:ops" and not any(
        "ops_tiny_report" in t for t in dag.task_ids if "transform." in t
    )
    assert "publish.ops_marts" in descendants(dag, "transform.fct_tiny.run")
    assert dag.get_task("transform.fct_tiny.test").outlets == []
    assert dag.get_task("transform.fct_tiny.run").retries >= 1  # a retry re-runs the model itself
    # model and test tasks look for their node's status every second (Cosmos's default: 10 s)
    assert {dag.get_task(t).poke_interval for t in ("transform.fct_tiny.run", "transform.fct_tiny.test")} == {
        1
    }


def test_unknown_execution_mode_is_refused_with_the_choices(tiny_project):
    with pytest.raises(ValueError, match="ORCHARD_EXECUTION_MODE.*local"):
        build_dag("orchard_nightly", granularity="model", execution_mode="kubernetes")
