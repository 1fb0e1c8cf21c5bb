"""The ad-hoc build: check the `select` param with `dbt ls`, then run one `dbt build --select` over it."""

from __future__ import annotations

from typing import Any

from orchard import settings


def adhoc_build() -> Any:
    """Tasks `validate_selection` >> `dbt_build` inside the current DAG context."""
    from airflow.sdk import get_current_context, task
    from cosmos.constants import InvocationMode
    from cosmos.operators.local import DbtBuildLocalOperator

    from orchard.transform.cosmos_config import operator_args, profile_config

    @task(task_id="validate_selection")
    def validate_selection() -> list[str]:
        """Fail fast with dbt's own message when the selector is invalid or selects nothing."""
        from orchard.transform.runner import list_selected

        selected = list_selected(get_current_context()["params"]["select"])
        print(f"selection matches {len(selected)} nodes: {', '.join(selected[:50])}")
        return selected

    build = DbtBuildLocalOperator(
        task_id="dbt_build",
        project_dir=str(settings.DBT_PROJECT_DIR),
        profile_config=profile_config(),
        select=["{{ params.select }}"],
        invocation_mode=InvocationMode.DBT_RUNNER,
        emit_datasets=False,
        **operator_args("{{ params.full_refresh }}"),
    )
    validate_selection() >> build
    return build
