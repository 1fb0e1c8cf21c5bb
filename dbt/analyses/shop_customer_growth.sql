-- Are we growing? New signups and first-time buyers per month with running totals.
select
    month,
    new_signups,
    new_buyers,
    total_signups,
    total_buyers
from {{ ref('rpt_shop_customer_growth') }}
order by month
