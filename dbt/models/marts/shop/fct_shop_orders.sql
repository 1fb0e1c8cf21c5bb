{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id',
        order_by='(created_date, order_id)',
        partition_by='toYYYYMM(created_date)',
    )
}}

-- One row per shop order with its money, items, promo, destination and fulfilment phases.
-- Incremental by load time: a run rebuilds every order whose row, items, events, address or promo were loaded
-- since the last build, so late rows and changes to what an order shows are never skipped.
-- depends_on: {{ ref('stg_shop__events') }} (read only on incremental runs, so dbt must be told at parse time)
with

all_orders as (
    select * from {{ ref('stg_shop__orders') }}
),

items as (
    select * from {{ ref('stg_shop__order_items') }}
),

addresses as (
    select * from {{ ref('stg_shop__addresses') }}
),

promos as (
    select * from {{ ref('stg_shop__promos') }}
),

orders as (
    select * from all_orders
    {% if is_incremental() -%}
    where
        {{ loaded_since_last_build('loaded_at') }}
        or order_id in (select order_id from items where {{ loaded_since_last_build('loaded_at') }})
        or order_id in (
            select order_id from {{ ref('stg_shop__events') }}
            where order_id is not null and {{ loaded_since_last_build('loaded_at') }}
        )
        or address_id in (select address_id from addresses where {{ loaded_since_last_build('loaded_at') }})
        or promo_id in (select promo_id from promos where {{ loaded_since_last_build('loaded_at') }})
    {%- endif %}
),

fulfilment as (
    select * from {{ ref('int_shop__order_fulfilment') }}
),

order_items as (
    select
        order_id,
        count(*) as distinct_products,
        sum(quantity) as units
    from items
    group by order_id
),

final as (
    select
        orders.order_id as order_id,
        orders.user_id as user_id,
        orders.address_id as address_id,
        addresses.state as state,
        addresses.country as country,
        orders.promo_id as promo_id,
        promos.discount as promo_discount,
        orders.order_cost as order_cost,
        orders.shipping_cost as shipping_cost,
        orders.order_total as order_total,
        coalesce(order_items.distinct_products, 0) as distinct_products,
        coalesce(order_items.units, 0) as units,
        orders.status as status,
        orders.shipping_service as shipping_service,
        orders.tracking_id as tracking_id,
        orders.created_at as created_at,
        {{ shop_date('orders.created_at') }} as created_date,
        fulfilment.shipped_at as shipped_at,
        orders.estimated_delivery_at as estimated_delivery_at,
        orders.delivered_at as delivered_at,
        fulfilment.hours_to_ship as hours_to_ship,
        fulfilment.hours_in_transit as hours_in_transit,
        fulfilment.hours_to_deliver as hours_to_deliver,
        fulfilment.is_late as is_late,
        orders.updated_at as updated_at,
        orders.loaded_at as loaded_at
    from orders
    left join order_items on orders.order_id = order_items.order_id
    left join addresses on orders.address_id = addresses.address_id
    left join promos on orders.promo_id = promos.promo_id
    left join fulfilment on orders.order_id = fulfilment.order_id
    settings join_use_nulls = 1
)

select * from final
