{#-
    dbt run artifacts in the warehouse: after every dbt command (build, run, test, snapshot, source freshness)
    the on-run-end hook appends one row per node result to <ops database>.dbt_node_results, which the
    observability marts (models/marts/ops) read. The table is created by the on-run-start hook, so those marts
    can be built in the very first run.
-#}
{% macro ops_results_relation() -%}
    {{ return(api.Relation.create(schema=generate_schema_name('ops', none), identifier='dbt_node_results')) }}
{%- endmacro %}

{% macro create_ops_results_table() -%}
    {%- if execute -%}
        {%- set relation = ops_results_relation() -%}
        {%- do run_query('create database if not exists ' ~ relation.schema) -%}
        {%- do run_query(
            'create table if not exists ' ~ relation ~ ' (
                invocation_id String,
                command String,
                target_name String,
                invoked_at DateTime64(6, \'UTC\'),
                unique_id String,
                resource_type String,
                node_name String,
                status String,
                execution_time Float64,
                failures Nullable(Int64),
                message String,
                max_loaded_at Nullable(DateTime64(6, \'UTC\')),
                snapshotted_at Nullable(DateTime64(6, \'UTC\'))
            ) engine = MergeTree order by (invoked_at, unique_id)'
        ) -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{% macro sql_string(value) -%}
    {{- "'" ~ (value | string | replace('\\', '\\\\') | replace("'", "\\'")) ~ "'" -}}
{%- endmacro %}

{% macro sql_timestamp(value) -%}
    {%- if value -%}
        parseDateTime64BestEffortOrNull({{ sql_string(value) }}, 6, 'UTC')
    {%- else -%}
        null
    {%- endif -%}
{%- endmacro %}

{% macro log_run_results(results) -%}
    {%- if execute and results -%}
        {%- set rows = [] -%}
        {%- for result in results -%}
            {%- set node = result.node -%}
            {%- do rows.append(
                '(' ~ sql_string(invocation_id)
                ~ ', ' ~ sql_string(flags.WHICH)
                ~ ', ' ~ sql_string(target.name)
                ~ ', ' ~ sql_timestamp(run_started_at)
                ~ ', ' ~ sql_string(node.unique_id)
                ~ ', ' ~ sql_string(node.resource_type)
                ~ ', ' ~ sql_string(node.name)
                ~ ', ' ~ sql_string(result.status)
                ~ ', ' ~ (result.execution_time or 0)
                ~ ', ' ~ (result.failures if result.failures is defined and result.failures is not none else 'null')
                ~ ', ' ~ sql_string(result.message or '')
                ~ ', ' ~ sql_timestamp(result.max_loaded_at if result.max_loaded_at is defined else none)
                ~ ', ' ~ sql_timestamp(result.snapshotted_at if result.snapshotted_at is defined else none)
                ~ ')'
            ) -%}
        {%- endfor -%}
        {%- do run_query('insert into ' ~ ops_results_relation() ~ ' values ' ~ rows | join(', ')) -%}
    {%- endif -%}
    select 1
{%- endmacro %}
