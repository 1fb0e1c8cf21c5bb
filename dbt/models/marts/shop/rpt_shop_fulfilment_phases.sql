{{ config(order_by='(dimension, dimension_value)') }}

-- How long each fulfilment phase takes (placed -> shipped -> delivered), by product, promo and shipping
-- service. An order counts once for every product in it. A phase's averages and medians cover the orders that
-- finished it; orders_not_yet_shipped and orders_in_transit count the ones still in it.
with

fulfilment as (
    select * from {{ ref('int_shop__order_fulfilment') }}
),

items as (
    select * from {{ ref('stg_shop__order_items') }}
),

products as (
    select * from {{ ref('dim_shop_products') }}
),

by_dimension as (
    select
        'shipping_service' as dimension,
        coalesce(fulfilment.shipping_service, 'not shipped') as dimension_value,
        fulfilment.*
    from fulfilment
    union all
    select
        'promo' as dimension,
        coalesce(fulfilment.promo_id, 'no promo') as dimension_value,
        fulfilment.*
    from fulfilment
    union all
    select
        'product' as dimension,
        coalesce(products.product_name, items.product_id) as dimension_value,
        fulfilment.*
    from fulfilment
    inner join items on fulfilment.order_id = items.order_id
    left join products on items.product_id = products.product_id
),

final as (
    select
        dimension,
        dimension_value,
        count(*) as orders,
        countIf(shipped_at is not null) as shipped_orders,
        countIf(delivered_at is not null) as delivered_orders,
        -- the averages below cover finished phases only: these say how many orders they leave out
        countIf(shipped_at is null) as orders_not_yet_shipped,
        countIf(shipped_at is not null and delivered_at is null) as orders_in_transit,
        round(avg(hours_to_ship), 2) as avg_hours_to_ship,
        round(median(hours_to_ship), 2) as median_hours_to_ship,
        round(avg(hours_in_transit), 2) as avg_hours_in_transit,
        round(median(hours_in_transit), 2) as median_hours_in_transit,
        round(avg(hours_to_deliver), 2) as avg_hours_to_deliver,
        {{ ratio('countIf(is_late)', 'countIf(delivered_at is not null)') }} as late_delivery_rate
    from by_dimension
    group by dimension, dimension_value
)

select * from final
