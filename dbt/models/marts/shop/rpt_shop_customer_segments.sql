{{ config(order_by='segment') }}

-- Per customer segment: customers, revenue and its share, lifetime value, purchase frequency and basket size.
-- Segments partition the customers, so shares sum to 1; the top 20% by value is a flag in rpt_shop_customer_360.
with

customers as (
    select * from {{ ref('rpt_shop_customer_360') }}
),

grouped as (
    select
        segment,
        count(*) as customers,
        sum(toFloat64(lifetime_value)) as revenue,
        avg(toFloat64(lifetime_value)) as avg_lifetime_value,
        avg(orders) as avg_orders,
        avg(orders_per_30_days) as avg_orders_per_30_days,
        avgIf(avg_basket_units, orders > 0) as avg_basket_units
    from customers
    group by segment
),

final as (
    select
        segment,
        customers,
        round(revenue, 2) as revenue,
        {{ ratio('revenue', '(select sum(toFloat64(lifetime_value)) from customers)') }} as revenue_share,
        round(avg_lifetime_value, 2) as avg_lifetime_value,
        avg_orders,
        avg_orders_per_30_days,
        avg_basket_units
    from grouped
)

select * from final
