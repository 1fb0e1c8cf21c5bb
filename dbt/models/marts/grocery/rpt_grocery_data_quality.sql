{{ config(order_by='check_name') }}

-- One row per data-quality check on the grocery data: how many rows were checked, how many failed, the
-- issue rate and PASS/WARN/FAIL. Duplicates are counted on staging
-- (before the clean layer removes them); the other checks read the clean layer's flags.
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

stg_lines as (
    select order_id, product_id from stg_prior_lines
    union all
    select order_id, product_id from stg_train_lines
),

cart_positions as (
    -- positions in a cart run 1..n: a gap or a repeat means lines were lost or duplicated
    select
        order_id,
        max(add_to_cart_order) != count(*) or min(add_to_cart_order) != 1 as has_gap
    from lines
    group by order_id
),

checks as (
    select
        'orders_missing_days_since_prior' as check_name, 'completeness' as check_category,
        'orders' as table_name, count(*) as checked_rows, countIf(dq_is_missing_gap) as failed_rows
    from orders
    union all
    select
        'products_missing_name', 'completeness', 'products', count(*), countIf(dq_is_missing_name)
    from products
    union all
    select
        'order_lines_unknown_order', 'referential_integrity', 'order_lines', count(*), countIf(dq_has_unknown_order)
    from lines
    union all
    select
        'order_lines_unknown_product', 'referential_integrity', 'order_lines', count(*),
        countIf(dq_has_unknown_product)
    from lines
    union all
    select
        'products_unknown_aisle', 'referential_integrity', 'products', count(*), countIf(dq_has_unknown_aisle)
    from products
    union all
    select 'orders_duplicate_id', 'duplicates', 'orders', count(*), count(*) - uniqExact(order_id)
    from stg_orders
    union all
    select 'products_duplicate_id', 'duplicates', 'products', count(*), count(*) - uniqExact(product_id)
    from stg_products
    union all
    select
        'order_lines_duplicate_key', 'duplicates', 'order_lines', count(*),
        count(*) - uniqExact(order_id, product_id)
    from stg_lines
    union all
    select
        'orders_non_consecutive_number', 'business_rule', 'orders', count(*), countIf(dq_breaks_order_sequence)
    from orders
    union all
    select
        'orders_first_order_with_gap', 'business_rule', 'orders', count(*), countIf(dq_first_order_has_gap)
    from orders
    union all
    select 'orders_gap_out_of_range', 'business_rule', 'orders', count(*), countIf(dq_gap_out_of_range)
    from orders
    union all
    select 'orders_invalid_time', 'business_rule', 'orders', count(*), countIf(dq_invalid_time)
    from orders
    union all
    select
        'order_lines_reorder_on_first_order', 'business_rule', 'order_lines', count(*),
        countIf(lines.reordered = 1 and orders.order_number = 1)
    from lines
    inner join orders on lines.order_id = orders.order_id
    union all
    select
        'order_lines_invalid_reordered', 'business_rule', 'order_lines', count(*), countIf(dq_invalid_reordered)
    from lines
    union all
    select 'order_lines_cart_position_gap', 'business_rule', 'orders', count(*), countIf(has_gap)
    from cart_positions
    union all
    select
        'products_department_conflict', 'business_rule', 'products', count(*),
        countIf(dq_has_department_conflict)
    from products
    union all
    -- loaded_at is the load time, not a capped business value, so this check fires when the loads stop
    select
        'orders_stale_load', 'freshness', 'orders', 1,
        toUInt64(max(loaded_at) < now64(6, 'UTC') - interval {{ var('dq_stale_hours') }} hour)
    from orders
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
