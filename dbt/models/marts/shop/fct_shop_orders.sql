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
-- Incremental on updated_at: a run rebuilds the orders that changed in its data interval.
with

orders as (
    select * from {{ ref('stg_shop__orders') }}
    where {{ incremental_window('updated_at') }}
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
        toDate(orders.created_at) as created_date,
        fulfilment.shipped_at as shipped_at,
        orders.estimated_delivery_at as estimated_delivery_at,
        orders.delivered_at as delivered_at,
        fulfilment.hours_to_ship as hours_to_ship,
        fulfilment.hours_in_transit as hours_in_transit,
        fulfilment.hours_to_deliver as hours_to_deliver,
        fulfilment.is_late as is_late,
        orders.updated_at as updated_at
    from orders
    left join order_items on orders.order_id = order_items.order_id
    left join addresses on orders.address_id = addresses.address_id
    left join promos on orders.promo_id = promos.promo_id
    left join fulfilment on orders.order_id = fulfilment.order_id
    settings join_use_nulls = 1
)

select * from final
