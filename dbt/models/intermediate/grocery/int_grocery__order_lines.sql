{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['order_id', 'product_id'],
        order_by='(order_id, product_id)',
        query_settings={
            'optimize_read_in_window_order': 1,
            'query_plan_reuse_storage_ordering_for_window_functions': 1,
        },
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

{% if is_incremental() %}
    unioned as (
        select * from prior_lines
        union all
        select * from train_lines
    ),
{% endif %}

{# each file's lines, those of orders and products loaded since the last build when incremental #}
{% for line_set in ['prior', 'train'] %}
    touched_{{ line_set }} as (
        select * from {{ line_set }}_lines
        {% if is_incremental() %}
            where {{ order_lines_loaded_after_last_build('unioned', 'orders', 'products') }}
        {% endif %}
    ),

    latest_{{ line_set }} as (
        -- the latest loaded copy of each line of one file. The raw tables are sorted by (order_id, product_id):
        -- with the model's query_settings the window reads them in that order and holds one line's copies at a
        -- time (0.8 GiB of warehouse memory at scale 1, where an ORDER BY ... LIMIT 1 BY over both files held
        -- every line: 5.4 GiB)
        {{ latest_copy_of_each_line('touched_' ~ line_set) }}
    ),
{% endfor %}

lines_of_orders_in_both_files as (
    -- an order's lines come in one file (prior or train), so a line can have copies in both only if its order
    -- is in both: the latest copy of those few lines is chosen again across the files
    select * from latest_prior
    where order_id in (select order_id from touched_train)
    union all
    select * from latest_train
),

deduplicated as (
    select * from latest_prior
    where order_id not in (select order_id from touched_train)
    union all
    {{ latest_copy_of_each_line('lines_of_orders_in_both_files') }}
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
