{#-
    The slice an incremental shop model rebuilds: the rows loaded since its last build, found by load time
    (the `_loaded_at` dlt stamps on every row it writes), not by business time or by Airflow's data interval.
    A row loaded late (created days ago, loaded now), a backfill of a past day, or an intraday load between two
    nightlies all carry a new load time, so the next build picks them up whatever interval it runs for; `>=`
    re-reads the last load once more, which delete+insert on the unique key makes harmless (no duplicates).
    The high-water mark is the newest `loaded_at` already in the model, so a crashed run just leaves it where it
    was and the next one redoes the work. On the first build and on --full-refresh: everything.

    `strictly_after` (Instacart): a full extract stamps all of history with one load time, so re-reading the last
    load would re-read everything on the night after it. Safe because an Instacart load and a build never overlap
    (the nightly loads, then builds; the intraday DAG loads only the shop).
-#}
{% macro loaded_since_last_build(column='loaded_at', strictly_after=false) -%}
    {%- if is_incremental() -%}
        {{ column }} {{ '>' if strictly_after else '>=' }} (select max(loaded_at) from {{ this }})
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{#-
    The Instacart order lines an incremental model rebuilds: every line of an order that got a line or its order
    row loaded since the last build, and every line of a product loaded since. Arguments name the relations (CTEs
    or refs) holding the lines, the orders and the products, each with `loaded_at`.
-#}
{% macro order_lines_loaded_after_last_build(lines, orders, products) -%}
    order_id in (
        select order_id from {{ lines }}
        where {{ loaded_since_last_build('loaded_at', strictly_after=true) }}
        union all
        select order_id from {{ orders }}
        where {{ loaded_since_last_build('loaded_at', strictly_after=true) }}
    )
    or product_id in (
        select product_id from {{ products }}
        where {{ loaded_since_last_build('loaded_at', strictly_after=true) }}
    )
{%- endmacro %}

{#-
    True when any of the relations passed had a row loaded since the last build: a dimension reloaded (products,
    aisles, departments) reaches every row of a model that denormalises it, so the model rebuilds everything.
-#}
{% macro any_loaded_after_last_build() -%}
    (
        select count() from (
            {%- for relation in varargs %}
                select loaded_at from {{ relation }}
                {% if not loop.last %}union all{% endif %}
            {%- endfor %}
        )
        where {{ loaded_since_last_build('loaded_at', strictly_after=true) }}
    ) > 0
{%- endmacro %}

{#-
    The Instacart customers an incremental model rebuilds: each one with an order, or a line of an order, loaded
    since the last build (an order's place in the customer's history depends on the customer's other orders).
    Arguments name the relations holding the orders and the lines, each with `loaded_at`.
-#}
{% macro customers_loaded_after_last_build(orders, lines) -%}
    user_id in (
        select user_id from {{ orders }}
        where
            {{ loaded_since_last_build('loaded_at', strictly_after=true) }}
            or order_id in (
                select order_id from {{ lines }}
                where {{ loaded_since_last_build('loaded_at', strictly_after=true) }}
            )
    )
{%- endmacro %}

{#-
    Whether an incremental run of a model can start after its newest `loaded_at`: not on the first build or on
    --full-refresh, and not while the built table lacks the column (a table built before the model was
    incremental). That table is then rebuilt whole once, and `on_schema_change='append_new_columns'` adds the
    column, so an upgraded deployment's next nightly works instead of failing on an unknown column.
-#}
{% macro builds_after_load_watermark() -%}
    {%- if not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return('loaded_at' in adapter.get_columns_in_relation(this) | map(attribute='name') | list) }}
{%- endmacro %}
