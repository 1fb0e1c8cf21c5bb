{{ config(order_by='check_name', query_settings={'optimize_aggregation_in_order': 1}) }}

-- One row per data-quality check on the grocery data: how many rows were checked, how many failed, the
-- issue rate and PASS/WARN/FAIL. Duplicates are counted on staging
-- (before the clean layer removes them); the other checks read the clean layer's flags. Freshness uses the load
-- time (not a business column capped at 30), so it fires when the loads stop.
{# (check name, category, checked table, relation, failed-rows expression): one row per check #}
{% set checks = [
    ('orders_missing_days_since_prior', 'completeness', 'orders', 'orders', 'countIf(dq_is_missing_gap)'),
    ('products_missing_name', 'completeness', 'products', 'products', 'countIf(dq_is_missing_name)'),
    ('order_lines_unknown_order', 'referential_integrity', 'order_lines', 'lines', 'countIf(dq_has_unknown_order)'),
    ('order_lines_unknown_product', 'referential_integrity', 'order_lines', 'lines',
        'countIf(dq_has_unknown_product)'),
    ('products_unknown_aisle', 'referential_integrity', 'products', 'products', 'countIf(dq_has_unknown_aisle)'),
    ('orders_duplicate_id', 'duplicates', 'orders', 'stg_orders', 'count(*) - uniqExact(order_id)'),
    ('products_duplicate_id', 'duplicates', 'products', 'stg_products', 'count(*) - uniqExact(product_id)'),
    ('order_lines_duplicate_key', 'duplicates', 'order_lines', 'stg_line_copies', 'sum(copies) - count(*)'),
    ('orders_non_consecutive_number', 'business_rule', 'orders', 'orders', 'countIf(dq_breaks_order_sequence)'),
    ('orders_first_order_with_gap', 'business_rule', 'orders', 'orders', 'countIf(dq_first_order_has_gap)'),
    ('orders_gap_out_of_range', 'business_rule', 'orders', 'orders', 'countIf(dq_gap_out_of_range)'),
    ('orders_invalid_time', 'business_rule', 'orders', 'orders', 'countIf(dq_invalid_time)'),
    ('order_lines_reorder_on_first_order', 'business_rule', 'order_lines', 'lines_with_orders',
        'countIf(reordered = 1 and order_number = 1)'),
    ('order_lines_invalid_reordered', 'business_rule', 'order_lines', 'lines', 'countIf(dq_invalid_reordered)'),
    ('order_lines_cart_position_gap', 'business_rule', 'orders', 'cart_positions', 'countIf(has_gap)'),
    ('products_department_conflict', 'business_rule', 'products', 'products',
        'countIf(dq_has_department_conflict)'),
    ('orders_stale_load', 'freshness', 'orders', 'last_load',
        "countIf(last_loaded_at < now64(6, 'UTC') - interval " ~ var('dq_stale_hours') ~ " hour)"),
] %}
{# how a relation counts the rows it checks, where one row of it is not one checked row #}
{% set checked_rows = {'stg_line_copies': 'sum(copies)'} %}

with

stg_orders as (
    select * from {{ ref('stg_instacart__orders') }}
),

stg_products as (
    select * from {{ ref('stg_instacart__products') }}
),

stg_prior_lines as (
    select * from {{ ref('stg_instacart__order_products_prior') }}
),

stg_train_lines as (
    select * from {{ ref('stg_instacart__order_products_train') }}
),

orders as (
    select * from {{ ref('int_grocery__orders') }}
),

products as (
    select * from {{ ref('int_grocery__products') }}
),

lines as (
    select * from {{ ref('int_grocery__order_lines') }}
),

{% for line_set in ['prior', 'train'] %}
    stg_{{ line_set }}_copies as (
        -- staging rows per line key of one file: its raw table is sorted by the key, so this aggregates in
        -- order (query_settings), a key at a time, where a GROUP BY over both files held every key (1.2 GiB at
        -- scale 1) and a uniqExact before it more
        select
            order_id,
            product_id,
            count(*) as copies
        from stg_{{ line_set }}_lines
        group by order_id, product_id
    ),
{% endfor %}

stg_line_copies as (
    -- staging rows per line key across both files: a key can be in both only if its order is, so only the
    -- lines of orders in both files are added up again
    select copies from stg_prior_copies
    where order_id not in (select order_id from stg_train_lines)
    union all
    select sum(copies) as copies
    from (
        select * from stg_prior_copies
        where order_id in (select order_id from stg_train_lines)
        union all
        select * from stg_train_copies
    ) as both_files
    group by order_id, product_id
),

cart_positions as (
    -- positions in a cart run 1..n: a gap or a repeat means lines were lost or duplicated
    select
        order_id,
        max(add_to_cart_order) != count(*) or min(add_to_cart_order) != 1 as has_gap
    from lines
    group by order_id
),

lines_with_orders as (
    select
        lines.reordered as reordered,
        orders.order_number as order_number
    from lines
    inner join orders on lines.order_id = orders.order_id
),

last_load as (
    select max(loaded_at) as last_loaded_at
    from orders
),

checks as (
    {% for name, category, table_name, relation, failed in checks %}
        select
            '{{ name }}' as check_name,
            '{{ category }}' as check_category,
            '{{ table_name }}' as table_name,
            {{ checked_rows.get(relation, 'count(*)') }} as checked_rows,
            {{ failed }} as failed_rows
        from {{ relation }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select
        check_name,
        check_category,
        table_name,
        toUInt64(checked_rows) as checked_rows,
        toUInt64(failed_rows) as failed_rows,
        if(checked_rows = 0, 0, failed_rows / checked_rows) as issue_rate,
        -- a duplicate key, a dangling reference or a stale load is wrong at any rate; the other rules fail
        -- above dq_fail_rate and warn above dq_warn_rate
        multiIf(
            checked_rows = 0, 'WARN',
            failed_rows = 0, 'PASS',
            check_category in ('duplicates', 'referential_integrity', 'freshness'), 'FAIL',
            failed_rows / checked_rows > {{ var('dq_fail_rate') }}, 'FAIL',
            failed_rows / checked_rows > {{ var('dq_warn_rate') }}, 'WARN',
            'PASS'
        ) as status,
        now64(6, 'UTC') as checked_at
    from checks
)

select * from final
