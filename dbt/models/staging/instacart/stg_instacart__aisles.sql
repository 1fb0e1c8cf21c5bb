with

source as (
    select * from {{ source('instacart', 'aisles') }}
),

renamed as (
    select
        toInt64(aisle_id) as aisle_id,
        nullIf(trimBoth(aisle), '') as aisle_name,
        _loaded_at as loaded_at
    from source
)

select * from renamed
