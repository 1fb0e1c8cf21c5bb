{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        unique_key='user_id',
        order_by='user_id',
    )
}}

-- One row per user with their order history. The history is the user's prior orders; it ends at the user's
-- last order of any eval set (the train/test order where the data was cut). Recency is the number of days
-- from the last prior order to that end, from the cumulative days_since_prior_order, not the largest gap.
-- Incremental by load time: a run rebuilds each user who got an order or an order line loaded since the last
-- build, from all of that user's orders and lines.
{% set after_watermark = builds_after_load_watermark() %}
with

all_orders as (
    select * from {{ ref('int_grocery__orders') }}
),

all_lines as (
    select * from {{ ref('int_grocery__order_lines') }}
),

{% if after_watermark %}
    orders as (
        select * from all_orders
        where {{ customers_loaded_after_last_build('all_orders', 'all_lines') }}
    ),

    lines as (
        select * from all_lines
        where order_id in (select order_id from orders)
    ),
{% else %}
    orders as (
        select * from all_orders
    ),

    lines as (
        select * from all_lines
    ),
{% endif %}

order_sizes as (
    select
        order_id,
        count(*) as items,
        sum(reordered) as reordered_items,
        max(loaded_at) as lines_loaded_at
    from lines
    where not dq_has_unknown_order
    group by order_id
),

user_orders as (
    select
        orders.user_id as user_id,
        count(*) as total_orders,
        countIf(orders.eval_set = 'prior') as prior_orders,
        max(orders.order_number) as last_order_number,
        max(orders.days_since_first_order) as history_end_day,
        maxIf(orders.days_since_first_order, orders.eval_set = 'prior') as last_prior_order_day,
        avgIf(orders.days_since_prior_order, orders.days_since_prior_order is not null)
            as avg_days_between_orders,
        sumIf(order_sizes.items, orders.eval_set = 'prior') as prior_items,
        sumIf(order_sizes.reordered_items, orders.eval_set = 'prior') as prior_reordered_items,
        -- a user's first order cannot contain reorders, so it does not count towards the reorder rate
        sumIf(order_sizes.items, orders.eval_set = 'prior' and orders.order_number > 1) as reorderable_items,
        avgIf(order_sizes.items, order_sizes.items > 0) as avg_basket_size,
        -- the newest load of the user's orders and lines: what the next incremental run starts after
        greatest(max(orders.loaded_at), max(order_sizes.lines_loaded_at)) as loaded_at
    from orders
    left join order_sizes on orders.order_id = order_sizes.order_id
    group by orders.user_id
),

user_products as (
    select
        orders.user_id as user_id,
        uniqExact(lines.product_id) as distinct_products
    from lines
    inner join orders on lines.order_id = orders.order_id
    group by orders.user_id
),

final as (
    select
        user_orders.user_id as user_id,
        user_orders.total_orders as total_orders,
        user_orders.prior_orders as prior_orders,
        user_orders.last_order_number as last_order_number,
        user_orders.history_end_day as history_end_day,
        user_orders.last_prior_order_day as last_prior_order_day,
        user_orders.history_end_day - user_orders.last_prior_order_day as recency_days,
        user_orders.avg_days_between_orders as avg_days_between_orders,
        user_orders.prior_items as prior_items,
        user_orders.prior_reordered_items as prior_reordered_items,
        {{ ratio('user_orders.prior_reordered_items', 'user_orders.reorderable_items') }} as reorder_rate,
        user_orders.avg_basket_size as avg_basket_size,
        coalesce(user_products.distinct_products, 0) as distinct_products,
        user_orders.loaded_at as loaded_at
    from user_orders
    left join user_products on user_orders.user_id = user_products.user_id
)

select * from final
