with

source as (
    select * from {{ source('instacart', 'orders') }}
),

renamed as (
    select
        toInt64(order_id) as order_id,
        toInt64(user_id) as user_id,
        lower(trimBoth(eval_set)) as eval_set,
        toInt64(order_number) as order_number,
        toInt64(order_dow) as order_dow,
        toInt64(order_hour_of_day) as order_hour_of_day,
        toNullable(toFloat64(days_since_prior_order)) as days_since_prior_order,
        _loaded_at as loaded_at
    from source
)

select * from renamed
