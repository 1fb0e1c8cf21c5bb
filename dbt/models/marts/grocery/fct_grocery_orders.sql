{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        unique_key='order_id',
        order_by='order_id',
        query_settings={'optimize_aggregation_in_order': 1, 'join_algorithm': 'full_sorting_merge'},
    )
}}

-- One row per order (test orders included, with an empty basket): basket size, reorders, cart positions, mix.
-- The lines and orders are sorted by order_id, so the baskets aggregate, and join their orders, in that order
-- (query_settings): about 1 GiB of warehouse memory at scale 1, where a hash join took 1.8 GiB.
-- Incremental by load time, like the order lines: a run rebuilds every order of each customer who got an order
-- or a line loaded since the last build (an order's days since the first order come from the customer's other
-- orders), and every order when products, aisles or departments were loaded since (they reach every basket).
-- depends_on: {{ ref('int_grocery__products') }}
-- depends_on: {{ ref('int_grocery__aisles') }}, {{ ref('int_grocery__departments') }}
{% set after_watermark = builds_after_load_watermark() %}
with

orders as (
    select * from {{ ref('int_grocery__orders') }}
),

all_lines as (
    select * from {{ ref('fct_grocery_order_lines') }}
),

{% if after_watermark %}
    touched_orders as (
        select order_id
        from orders
        where
            {{ customers_loaded_after_last_build('orders', 'all_lines') }}
            or {{ any_loaded_after_last_build(
                ref('int_grocery__products'), ref('int_grocery__aisles'), ref('int_grocery__departments')
            ) }}
    ),

    lines as (
        select * from all_lines
        where order_id in (select order_id from touched_orders)
    ),
{% else %}
    lines as (
        select * from all_lines
    ),
{% endif %}

baskets as (
    select
        order_id,
        count(*) as basket_size,
        sum(reordered) as reordered_items,
        avg(add_to_cart_order) as avg_cart_position,
        argMin(product_id, add_to_cart_order) as first_product_id,
        uniqExact(department_id) as distinct_departments,
        uniqExact(aisle_id) as distinct_aisles,
        countIf(is_organic) as organic_items,
        max(loaded_at) as last_line_loaded_at
    from lines
    group by order_id
),

final as (
    select
        orders.order_id as order_id,
        orders.user_id as user_id,
        orders.eval_set as eval_set,
        orders.order_number as order_number,
        orders.order_number = 1 as is_first_order,
        orders.order_dow * 24 + orders.order_hour_of_day as time_key,
        orders.order_dow as order_dow,
        orders.order_hour_of_day as order_hour_of_day,
        orders.days_since_prior_order as days_since_prior_order,
        orders.days_since_first_order as days_since_first_order,
        coalesce(baskets.basket_size, 0) as basket_size,
        coalesce(baskets.reordered_items, 0) as reordered_items,
        {{ ratio('baskets.reordered_items', 'baskets.basket_size') }} as reorder_ratio,
        baskets.avg_cart_position as avg_cart_position,
        baskets.first_product_id as first_product_id,
        coalesce(baskets.distinct_departments, 0) as distinct_departments,
        coalesce(baskets.distinct_aisles, 0) as distinct_aisles,
        coalesce(baskets.organic_items, 0) as organic_items,
        {{ ratio('baskets.organic_items', 'baskets.basket_size') }} as organic_share,
        -- the newest load of the order or its lines: what the next incremental run starts after
        greatest(orders.loaded_at, coalesce(baskets.last_line_loaded_at, orders.loaded_at)) as loaded_at
    from orders
    left join baskets on orders.order_id = baskets.order_id
    {% if after_watermark %}
        where orders.order_id in (select order_id from touched_orders)
    {% endif %}
    settings join_use_nulls = 1
)

select * from final
