{{ config(order_by='order_id', query_settings={'optimize_aggregation_in_order': 1}) }}

-- One row per order (test orders included, with an empty basket): basket size, reorders, cart positions, mix.
-- The lines are sorted by order_id, so the baskets aggregate in that order (query_settings), one order at a time.
with

orders as (
    select * from {{ ref('int_grocery__orders') }}
),

lines as (
    select * from {{ ref('fct_grocery_order_lines') }}
),

baskets as (
    select
        order_id,
        count(*) as basket_size,
        sum(reordered) as reordered_items,
        avg(add_to_cart_order) as avg_cart_position,
        argMin(product_id, add_to_cart_order) as first_product_id,
        uniqExact(department_id) as distinct_departments,
        uniqExact(aisle_id) as distinct_aisles,
        countIf(is_organic) as organic_items
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
        {{ ratio('baskets.organic_items', 'baskets.basket_size') }} as organic_share
    from orders
    left join baskets on orders.order_id = baskets.order_id
    settings join_use_nulls = 1
)

select * from final
