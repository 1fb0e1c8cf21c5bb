{#-
    The slice an incremental run rebuilds: [data_interval_start, data_interval_end) on `column`, taken
    from the vars Airflow fills from the run's data interval, so a backfill of a date rebuilds that date.
    Without the vars, on the first build and on --full-refresh: everything.
-#}
{% macro incremental_window(column) -%}
    {%- set start = var('data_interval_start') -%}
    {%- set end = var('data_interval_end') -%}
    {%- if is_incremental() and start -%}
        {{ column }} >= parseDateTime64BestEffort('{{ start }}', 6, 'UTC')
        {%- if end %} and {{ column }} < parseDateTime64BestEffort('{{ end }}', 6, 'UTC'){% endif %}
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}
