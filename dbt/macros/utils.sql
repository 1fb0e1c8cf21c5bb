{#- Small SQL helpers shared by the models. -#}

{#-
    A timestamp column of any raw type (String from SQLite, DateTime, DateTime64) as DateTime64(6, 'UTC').
    Required columns (created_at, updated_at) fail loudly on a bad value; optional ones become null.
-#}
{% macro to_utc_timestamp(column, required=false) -%}
    {%- if required -%}
    parseDateTime64BestEffort(toString({{ column }}), 6, 'UTC')
    {%- else -%}
    parseDateTime64BestEffortOrNull(toString({{ column }}), 6, 'UTC')
    {%- endif -%}
{%- endmacro %}

{#- Score 1..5 from four ascending thresholds; `higher_is_better=false` inverts it (e.g. recency). -#}
{% macro score_by_thresholds(column, thresholds, higher_is_better=true) -%}
    {%- if higher_is_better -%}
    multiIf(
        {{ column }} >= {{ thresholds[3] }}, 5,
        {{ column }} >= {{ thresholds[2] }}, 4,
        {{ column }} >= {{ thresholds[1] }}, 3,
        {{ column }} >= {{ thresholds[0] }}, 2,
        1
    )
    {%- else -%}
    multiIf(
        {{ column }} <= {{ thresholds[0] }}, 5,
        {{ column }} <= {{ thresholds[1] }}, 4,
        {{ column }} <= {{ thresholds[2] }}, 3,
        {{ column }} <= {{ thresholds[3] }}, 2,
        1
    )
    {%- endif -%}
{%- endmacro %}

{#- Safe ratio: null instead of a division by zero. -#}
{% macro ratio(numerator, denominator) -%}
    if({{ denominator }} = 0, null, {{ numerator }} / {{ denominator }})
{%- endmacro %}

{#-
    Pivot of event types: one count column per value, e.g.
    pivot_event_types('event_type', ['page_view', 'checkout']) ->
    countIf(event_type = 'page_view') as page_view_events, countIf(event_type = 'checkout') as checkout_events
-#}
{% macro pivot_event_types(column, values, suffix='_events', agg='countIf', then_value=none) -%}
    {%- for value in values -%}
        {%- if then_value is none -%}
        {{ agg }}({{ column }} = '{{ value }}') as {{ value }}{{ suffix }}
        {%- else -%}
        {{ agg }}({{ then_value }}, {{ column }} = '{{ value }}') as {{ value }}{{ suffix }}
        {%- endif -%}
        {%- if not loop.last %},
        {% endif -%}
    {%- endfor -%}
{%- endmacro %}

{% macro shop_event_types() -%}
    {{ return(['page_view', 'add_to_cart', 'checkout', 'package_shipped', 'signup_started', 'account_created',
               'profile_completed']) }}
{%- endmacro %}

{#- The shop's reporting day of a UTC timestamp: days, weeks and months are counted in var shop_timezone. -#}
{% macro shop_date(column) -%}
    toDate({{ column }}, '{{ var("shop_timezone") }}')
{%- endmacro %}
