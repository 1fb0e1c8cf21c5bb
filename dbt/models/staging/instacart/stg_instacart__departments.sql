with

source as (
    select * from {{ source('instacart', 'departments') }}
),

renamed as (
    select
        toInt64(department_id) as department_id,
        nullIf(trimBoth(department), '') as department_name,
        _loaded_at as loaded_at
    from source
)

select * from renamed
