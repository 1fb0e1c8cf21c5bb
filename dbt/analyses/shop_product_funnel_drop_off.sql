-- Where do shoppers drop out of the product funnel? Per product over the last four weeks, the weakest step.
select
    product_name,
    sum(viewed_sessions) as viewed,
    sum(cart_sessions) as added_to_cart,
    sum(checkout_sessions) as checked_out,
    round(sum(cart_sessions) / sum(viewed_sessions), 3) as view_to_cart_rate,
    round(sum(checkout_sessions) / nullIf(sum(cart_sessions), 0), 3) as cart_to_checkout_rate,
    -- nothing in the cart means everyone left at view -> cart (a null rate is not a weak step)
    multiIf(
        cart_to_checkout_rate is null, 'view -> cart',
        view_to_cart_rate <= cart_to_checkout_rate, 'view -> cart',
        'cart -> checkout'
    ) as weakest_step
from {{ ref('rpt_shop_product_funnel_weekly') }}
where week_start >= (select max(week_start) from {{ ref('rpt_shop_product_funnel_weekly') }}) - 21
group by product_name
order by viewed desc
