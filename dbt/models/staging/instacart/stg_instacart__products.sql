with

source as (
    select * from {{ source('instacart', 'products') }}
),

renamed as (
    select
        toInt64(product_id) as product_id,
        nullIf(trimBoth(product_name), '') as product_name,
        toInt64(aisle_id) as aisle_id,
        toInt64(department_id) as department_id,
        _loaded_at as loaded_at
    from source
)

select * from renamed
