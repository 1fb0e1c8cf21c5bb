-- Which products are bought together more often than chance? The 50 strongest pairs by lift.
select
    product_a_name,
    product_b_name,
    pair_orders,
    round(support, 5) as support,
    round(confidence_a_to_b, 3) as confidence_a_to_b,
    round(confidence_b_to_a, 3) as confidence_b_to_a,
    round(lift, 2) as lift
from {{ ref('rpt_grocery_market_basket') }}
where lift > 1
order by lift desc, pair_orders desc
limit 50
