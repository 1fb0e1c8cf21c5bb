{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['order_id', 'product_id'],
        order_by='(order_id, product_id)',
    )
}}

-- Lines of prior and train orders in one table, one row per order and product, with integrity flags.
-- Incremental by load time (daily drops merge new lines into the raw tables): a run rebuilds every line of each
-- order that got a line or its order row loaded since the last build, and every line of a product loaded since
-- (a products file replaces the whole table, so every line then). A full extract that drops rows needs
-- --full-refresh (the Sunday run) to drop them here.
with

prior_lines as (
    select * from {{ ref('stg_instacart__order_products_prior') }}
),

train_lines as (
    select * from {{ ref('stg_instacart__order_products_train') }}
),

orders as (
    select * from {{ ref('int_grocery__orders') }}
),

products as (
    select * from {{ ref('int_grocery__products') }}
),

unioned as (
    select * from prior_lines
    union all
    select * from train_lines
),

{% if is_incremental() %}
    touched as (
        select *
        from unioned
        where {{ order_lines_loaded_after_last_build('unioned', 'orders', 'products') }}
    ),
{% else %}
    touched as (
        select * from unioned
    ),
{% endif %}

deduplicated as (
    select *
    from touched
    order by loaded_at desc
    limit 1 by order_id, product_id
),

flagged as (
    select
        deduplicated.order_id as order_id,
        deduplicated.product_id as product_id,
        deduplicated.add_to_cart_order as add_to_cart_order,
        deduplicated.reordered as reordered,
        deduplicated.line_set as line_set,
        orders.order_id is null as dq_has_unknown_order,
        deduplicated.product_id not in (select product_id from products) as dq_has_unknown_product,
        deduplicated.reordered not in (0, 1) as dq_invalid_reordered,
        deduplicated.loaded_at as loaded_at
    from deduplicated
    left join orders on deduplicated.order_id = orders.order_id
    settings join_use_nulls = 1
)

select * from flagged
