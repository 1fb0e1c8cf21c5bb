{#-
    A read-only BI role gets SELECT on the marts through dbt `grants` (set on the marts folder).
    Grants need ClickHouse access control. The embedded warehouse (chDB) has none (CREATE ROLE answers
    ACCESS_DENIED, there are no user directories), so grants are applied only when the var
    `enable_grants` is true; it defaults to true on the prod target and false elsewhere.
-#}
{% macro grants_enabled() -%}
    {{ return(var('enable_grants', target.name == 'prod') | string | lower in ['true', '1', 'yes']) }}
{%- endmacro %}

{% macro create_bi_role() -%}
    {%- if execute and grants_enabled() -%}
        create role if not exists {{ var('bi_role') }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro clickhouse__apply_grants(relation, grant_config, should_revoke=True) -%}
    {%- if grants_enabled() -%}
        {{ default__apply_grants(relation, grant_config, should_revoke) }}
    {%- endif -%}
{%- endmacro %}
