-- Do frequent buyers buy bigger baskets? Average basket size per band of purchase frequency.
select
    multiIf(
        orders_per_30_days < 1, 'under 1 order / 30 days',
        orders_per_30_days < 2, '1-2 orders / 30 days',
        orders_per_30_days < 4, '2-4 orders / 30 days',
        '4+ orders / 30 days'
    ) as frequency_band,
    count(*) as customers,
    round(avg(avg_basket_units), 2) as avg_basket_units
from {{ ref('rpt_shop_customer_360') }}
where orders > 0
group by frequency_band
order by min(orders_per_30_days)
