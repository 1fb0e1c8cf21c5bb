{{
    config(
        materialized='table',
        order_by='(order_id, product_id)',
    )
}}

-- One row per product in an order (prior and train lines), denormalised with the order and product keys.
-- A table, not an incremental model: every Instacart load (a daily drop too) is a full extract that replaces
-- the raw tables and stamps every row with the load time, so no window can tell new lines from old ones;
-- finding the changed lines would read every line anyway, which is what rebuilding costs. Not partitioned:
-- Instacart lines carry no date, and no other column prunes the queries that read them.
with

lines as (
    select * from {{ ref('int_grocery__order_lines') }}
),

orders as (
    select * from {{ ref('int_grocery__orders') }}
),

products as (
    select * from {{ ref('dim_grocery_products') }}
),

final as (
    select
        lines.order_id as order_id,
        lines.product_id as product_id,
        orders.user_id as user_id,
        orders.eval_set as eval_set,
        orders.order_number as order_number,
        orders.order_dow * 24 + orders.order_hour_of_day as time_key,
        products.aisle_id as aisle_id,
        products.department_id as department_id,
        lines.add_to_cart_order as add_to_cart_order,
        lines.reordered as reordered,
        products.is_organic as is_organic,
        lines.loaded_at as loaded_at
    from lines
    inner join orders on lines.order_id = orders.order_id
    inner join products on lines.product_id = products.product_id
    where not lines.dq_invalid_reordered
)

select * from final
