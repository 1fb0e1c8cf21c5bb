-- Where do we lose new users between signup and first order? The funnel with its largest drop-off marked.
select
    step_number,
    step_name,
    entities,
    drop_off,
    round(drop_off_rate, 3) as drop_off_rate,
    is_largest_drop_off
from {{ ref('rpt_shop_signup_funnel') }}
order by step_number
