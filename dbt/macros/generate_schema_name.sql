{#-
    How dbt schemas map to ClickHouse databases (ClickHouse has no schemas: a dbt schema IS a database).
    - prod: each folder's custom schema is the database itself: staging, intermediate, marts, snapshots,
      seeds, ops. BI tools and Airflow read these fixed names.
    - dev, ci and any other target: the target's schema prefixes it (dev_marts, ci_marts, ...), so
      developers and CI share one server without touching production tables.
    A node without a custom schema lands in the target's schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- elif target.name == 'prod' -%}
        {{ custom_schema_name | trim }}
    {%- else -%}
        {{ target.schema | trim }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
