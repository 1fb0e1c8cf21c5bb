with

source as (
    select * from {{ source('shop', 'order_items') }}
),

renamed as (
    select
        toString(order_id) as order_id,
        toString(product_id) as product_id,
        toInt64(quantity) as quantity,
        {{ to_utc_timestamp('created_at', required=true) }} as created_at,
        {{ to_utc_timestamp('updated_at', required=true) }} as updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
