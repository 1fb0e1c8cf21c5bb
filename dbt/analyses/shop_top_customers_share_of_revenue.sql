-- How concentrated is revenue? The share of revenue brought by the top 20% of customers by value.
select
    count(*) as customers,
    round(sum(toFloat64(lifetime_value)), 2) as revenue,
    round(sum(revenue_share), 3) as revenue_share
from {{ ref('rpt_shop_customer_360') }}
where is_top_20_percent
