-- Where are our customers, and which kind are they? Customers and revenue by state and segment.
select
    state,
    segment,
    count(*) as customers,
    round(sum(toFloat64(lifetime_value)), 2) as revenue
from {{ ref('rpt_shop_customer_360') }}
group by state, segment
order by state asc, customers desc
