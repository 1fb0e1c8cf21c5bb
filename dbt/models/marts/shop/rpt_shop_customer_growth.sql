{{ config(order_by='month') }}

-- Customer growth per month: signups, first orders and the running totals.
with

customers as (
    select * from {{ ref('rpt_shop_customer_360') }}
),

signups as (
    select
        toStartOfMonth({{ shop_date('signed_up_at') }}) as month,
        count(*) as new_signups
    from customers
    where signed_up_at is not null
    group by month
),

first_orders as (
    select
        toStartOfMonth({{ shop_date('first_order_at') }}) as month,
        count(*) as new_buyers
    from customers
    where first_order_at is not null
    group by month
),

joined as (
    select
        assumeNotNull(coalesce(signups.month, first_orders.month)) as month,
        coalesce(signups.new_signups, 0) as new_signups,
        coalesce(first_orders.new_buyers, 0) as new_buyers
    from signups
    full outer join first_orders on signups.month = first_orders.month
    settings join_use_nulls = 1
),

final as (
    select
        month,
        new_signups,
        new_buyers,
        sum(new_signups) over (order by month rows between unbounded preceding and current row) as total_signups,
        sum(new_buyers) over (order by month rows between unbounded preceding and current row) as total_buyers
    from joined
)

select * from final
