with

source as (
    select * from {{ source('shop', 'products') }}
),

renamed as (
    select
        toString(product_id) as product_id,
        name as product_name,
        cast(price as Decimal(18, 2)) as price,
        toInt64(inventory) as inventory,
        {{ to_utc_timestamp('created_at', required=true) }} as created_at,
        {{ to_utc_timestamp('updated_at', required=true) }} as updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
