with

source as (
    select * from {{ source('shop', 'orders') }}
),

renamed as (
    select
        toString(order_id) as order_id,
        toString(user_id) as user_id,
        nullIf(toString(promo_id), '') as promo_id,
        toString(address_id) as address_id,
        cast(order_cost as Decimal(18, 2)) as order_cost,
        cast(shipping_cost as Decimal(18, 2)) as shipping_cost,
        cast(order_total as Decimal(18, 2)) as order_total,
        nullIf(toString(tracking_id), '') as tracking_id,
        nullIf(lower(toString(shipping_service)), '') as shipping_service,
        {{ to_utc_timestamp('estimated_delivery_at') }} as estimated_delivery_at,
        {{ to_utc_timestamp('delivered_at') }} as delivered_at,
        lower(toString(status)) as status,
        {{ to_utc_timestamp('created_at', required=true) }} as created_at,
        {{ to_utc_timestamp('updated_at', required=true) }} as updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
