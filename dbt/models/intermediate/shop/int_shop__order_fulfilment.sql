{{ config(order_by='order_id') }}

-- Each order's phases: placed (created_at) -> shipped (first package_shipped event, else the first snapshot
-- version with status shipped or delivered) -> delivered (delivered_at), with the hours each phase took.
with

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

events as (
    select * from {{ ref('stg_shop__events') }}
),

order_versions as (
    select * from {{ ref('snp_shop__orders') }}
),

shipped_events as (
    select
        order_id,
        min(created_at) as shipped_at
    from events
    where event_type = 'package_shipped' and order_id is not null
    group by order_id
),

shipped_versions as (
    select
        order_id,
        min(dbt_valid_from) as shipped_at
    from order_versions
    where status in ('shipped', 'delivered')
    group by order_id
),

phases as (
    select
        orders.order_id as order_id,
        orders.status as status,
        orders.shipping_service as shipping_service,
        orders.promo_id as promo_id,
        orders.created_at as placed_at,
        coalesce(shipped_events.shipped_at, shipped_versions.shipped_at) as shipped_at,
        orders.delivered_at as delivered_at,
        orders.estimated_delivery_at as estimated_delivery_at
    from orders
    left join shipped_events on orders.order_id = shipped_events.order_id
    left join shipped_versions on orders.order_id = shipped_versions.order_id
    settings join_use_nulls = 1
),

final as (
    select
        *,
        dateDiff('second', placed_at, shipped_at) / 3600 as hours_to_ship,
        dateDiff('second', shipped_at, delivered_at) / 3600 as hours_in_transit,
        dateDiff('second', placed_at, delivered_at) / 3600 as hours_to_deliver,
        delivered_at > estimated_delivery_at as is_late
    from phases
)

select * from final
