{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['order_id', 'product_id'],
        order_by='(order_id, product_id)',
    )
}}

-- One row per product in an order (prior and train lines), denormalised with the order and product keys.
-- Incremental by load time, like int_grocery__order_lines: a run rebuilds the lines of each order that got a line
-- or its order row loaded since the last build, the lines of products loaded since, and every line when aisles or
-- departments were loaded since (they reach every product).
-- Not partitioned: Instacart lines carry no date, and no other column prunes the queries that read them.
-- depends_on: {{ ref('int_grocery__products') }}
-- depends_on: {{ ref('int_grocery__aisles') }}, {{ ref('int_grocery__departments') }}
with

all_lines as (
    select * from {{ ref('int_grocery__order_lines') }}
),

orders as (
    select * from {{ ref('int_grocery__orders') }}
),

products as (
    select * from {{ ref('dim_grocery_products') }}
),

{% if is_incremental() %}
    lines as (
        select * from all_lines
        where
            {{ order_lines_loaded_after_last_build('all_lines', 'orders', ref('int_grocery__products')) }}
            or {{ any_loaded_after_last_build(ref('int_grocery__aisles'), ref('int_grocery__departments')) }}
    ),
{% else %}
    lines as (
        select * from all_lines
    ),
{% endif %}

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
