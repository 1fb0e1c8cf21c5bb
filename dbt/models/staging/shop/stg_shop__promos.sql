with

source as (
    select * from {{ source('shop', 'promos') }}
),

renamed as (
    select
        toString(promo_id) as promo_id,
        toInt64(discount) as discount,
        lower(trimBoth(status)) as status,
        {{ to_utc_timestamp('created_at', required=true) }} as created_at,
        {{ to_utc_timestamp('updated_at', required=true) }} as updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
