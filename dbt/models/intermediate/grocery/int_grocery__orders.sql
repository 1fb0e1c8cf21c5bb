{{ config(order_by='order_id') }}

-- Orders carry no dates, only the gap to the user's previous order. Its running sum is the order's day
-- in the user's history (day 0 = first order), from which real recency is derived downstream.
with

orders as (
    select * from {{ ref('stg_instacart__orders') }}
),

deduplicated as (
    select *
    from orders
    order by loaded_at desc
    limit 1 by order_id
),

sequenced as (
    select
        *,
        sum(coalesce(days_since_prior_order, 0)) over (
            partition by user_id order by order_number rows between unbounded preceding and current row
        ) as days_since_first_order,
        lagInFrame(order_number, 1, 0) over (
            partition by user_id order by order_number rows between 1 preceding and current row
        ) as previous_order_number
    from deduplicated
),

flagged as (
    select
        order_id,
        user_id,
        eval_set,
        order_number,
        order_dow,
        order_hour_of_day,
        days_since_prior_order,
        days_since_first_order,
        order_number = 1 and days_since_prior_order is not null as dq_first_order_has_gap,
        order_number > 1 and days_since_prior_order is null as dq_is_missing_gap,
        coalesce(days_since_prior_order not between 0 and 30, false) as dq_gap_out_of_range,
        order_number != previous_order_number + 1 as dq_breaks_order_sequence,
        order_dow not between 0 and 6 or order_hour_of_day not between 0 and 23 as dq_invalid_time,
        loaded_at
    from sequenced
)

select * from flagged
