{{ config(order_by='product_id') }}

-- One row per shop product: current price and stock, and what it sold.
with

products as (
    select * from {{ ref('stg_shop__products') }}
),

items as (
    select * from {{ ref('stg_shop__order_items') }}
),

sales as (
    select
        product_id,
        uniqExact(order_id) as orders,
        sum(quantity) as units_sold
    from items
    group by product_id
),

final as (
    select
        products.product_id as product_id,
        products.product_name as product_name,
        products.price as price,
        products.inventory as inventory,
        products.inventory > 0 as is_in_stock,
        products.created_at as created_at,
        coalesce(sales.orders, 0) as orders,
        coalesce(sales.units_sold, 0) as units_sold,
        coalesce(sales.units_sold, 0) * products.price as revenue_at_current_price
    from products
    left join sales on products.product_id = sales.product_id
    settings join_use_nulls = 1
)

select * from final
