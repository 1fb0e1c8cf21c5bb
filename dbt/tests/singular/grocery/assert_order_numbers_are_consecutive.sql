{{ config(severity='warn') }}  -- reported by rpt_grocery_data_quality (orders_non_consecutive_number)

-- Every user's orders are numbered 1..n without gaps or repeats; returns the users that break it.
select
    user_id,
    min(order_number) as first_number,
    max(order_number) as last_number,
    count(*) as orders
from {{ ref('stg_instacart__orders') }}
group by user_id
having min(order_number) != 1 or max(order_number) != count(*) or uniqExact(order_number) != count(*)
