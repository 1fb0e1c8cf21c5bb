with

source as (
    select * from {{ source('shop', 'addresses') }}
),

renamed as (
    select
        toString(address_id) as address_id,
        address,
        toString(zipcode) as zipcode,
        state,
        country,
        {{ to_utc_timestamp('created_at', required=true) }} as created_at,
        {{ to_utc_timestamp('updated_at', required=true) }} as updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
