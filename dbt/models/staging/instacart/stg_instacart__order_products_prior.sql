with

source as (
    select * from {{ source('instacart', 'order_products_prior') }}
),

renamed as (
    select
        toInt64(order_id) as order_id,
        toInt64(product_id) as product_id,
        toInt64(add_to_cart_order) as add_to_cart_order,
        toInt64(reordered) as reordered,
        'prior' as line_set,
        _loaded_at as loaded_at
    from source
)

select * from renamed
