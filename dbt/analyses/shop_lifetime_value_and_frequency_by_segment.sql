-- What is a customer worth, and how often do they buy, by segment?
select
    segment,
    customers,
    avg_lifetime_value,
    round(avg_orders, 2) as avg_orders,
    round(avg_orders_per_30_days, 2) as avg_orders_per_30_days,
    round(revenue_share, 3) as revenue_share
from {{ ref('rpt_shop_customer_segments') }}
order by avg_lifetime_value desc
