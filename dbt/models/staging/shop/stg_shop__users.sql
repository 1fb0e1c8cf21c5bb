with

source as (
    select * from {{ source('shop', 'users') }}
),

renamed as (
    select
        toString(user_id) as user_id,
        first_name,
        last_name,
        lower(trimBoth(email)) as email,
        phone_number,
        toString(address_id) as address_id,
        {{ to_utc_timestamp('created_at', required=true) }} as created_at,
        {{ to_utc_timestamp('updated_at', required=true) }} as updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
