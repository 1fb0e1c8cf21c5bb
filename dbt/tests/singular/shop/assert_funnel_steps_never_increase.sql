-- Down a funnel the counts never grow: returns the product-weeks and signup steps where a step exceeds the one before.
select
    'product_funnel' as funnel,
    concat(toString(week_start), ' ', product_id) as funnel_row
from {{ ref('rpt_shop_product_funnel_weekly') }}
where cart_sessions > viewed_sessions or checkout_sessions > cart_sessions
union all
select
    'signup_funnel' as funnel,
    step_name as funnel_row
from {{ ref('rpt_shop_signup_funnel') }}
where entities > previous_entities
