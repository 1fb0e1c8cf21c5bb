"""
### orchard_adhoc
Build only a selection of the dbt project: trigger with `select` (a dbt selector such as
`+fct_grocery_orders` or `tag:marts`) and optionally `full_refresh`. The selector is checked with
`dbt ls` first; an invalid or empty selection fails with dbt's message.
"""

from airflow.sdk import DAG

from orchard.orchestration import params
from orchard.orchestration.adhoc import adhoc_build
from orchard.orchestration.defaults import dag_callbacks, default_args
from orchard.orchestration.factory import START_DATE

with DAG(
    dag_id="orchard_adhoc",
    schedule=None,  # triggered by hand: Cosmos cannot template the selection of a task group
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(retries=0),
    params={"select": params.select(), "full_refresh": params.full_refresh()},
    doc_md=__doc__,
    tags=["orchard", "adhoc"],
    **dag_callbacks(),
) as dag:
    adhoc_build()
