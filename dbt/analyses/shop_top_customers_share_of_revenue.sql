-- How concentrated is revenue? The share of revenue brought by the top 20% of customers by value.
select
    customers,
    revenue,
    round(revenue_share, 3) as revenue_share
from {{ ref('rpt_shop_customer_segments') }}
where segment = 'top_20_percent'
