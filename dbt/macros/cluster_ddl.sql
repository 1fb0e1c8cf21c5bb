{#-
    The DDL heads dbt-clickhouse issues for every model, seed and snapshot on the current target, printed as
    one JSON list, without running anything: `dbt run-operation cluster_ddl --target cluster` previews what a
    cluster deployment creates (ON CLUSTER, replicated engines, Distributed tables over their local tables).
    The ON CLUSTER clause and the Distributed table come from dbt-clickhouse's own macros; the engine is the
    node's `engine` config, as its engine_clause() renders it.
-#}
{% macro cluster_ddl() %}
    {%- set statements = [] -%}
    {%- for node in graph.nodes.values()
        if node.resource_type in ('model', 'seed', 'snapshot') and node.config.materialized != 'ephemeral' -%}
        {%- set materialized = node.config.materialized -%}
        {%- set engine = node.config.get('engine') or 'MergeTree()' -%}
        {%- set relation = api.Relation.create(
            schema=node.schema,
            identifier=node.alias,
            type='view' if materialized == 'view' else 'table',
            can_on_cluster=adapter.should_on_cluster(materialized, engine),
        ) -%}
        {%- if materialized == 'view' -%}
            {%- do statements.append(
                'create or replace view ' ~ relation ~ ' ' ~ on_cluster_clause(relation) | trim
            ) -%}
        {%- elif materialized in ('distributed_table', 'distributed_incremental') -%}
            {%- set local = relation.incorporate(path={
                'identifier': node.alias ~ adapter.get_clickhouse_local_suffix(),
                'schema': adapter.get_clickhouse_local_db_prefix() ~ node.schema,
            }) -%}
            {%- do statements.append(
                'create table ' ~ local ~ ' ' ~ on_cluster_clause(local) | trim ~ ' engine = ' ~ engine
            ) -%}
            {%- do statements.append(create_distributed_table(relation, local) | trim) -%}
        {%- else -%}
            {%- do statements.append(
                'create table ' ~ relation ~ ' ' ~ on_cluster_clause(relation) | trim ~ ' engine = ' ~ engine
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ print(tojson(statements)) }}
{% endmacro %}
