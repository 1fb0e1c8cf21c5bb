{{ config(order_by='user_id') }}

-- Customer 360: every shop customer with state, segment, value, frequency and basket size, ranked by value;
-- the top 20% by lifetime value and the share of revenue each customer brings.
with

users as (
    select * from {{ ref('dim_shop_users') }}
),

totals as (
    select
        sum(lifetime_value) as total_revenue,
        countIf(orders > 0) as buying_customers
    from users
),

ranked as (
    select
        users.*,
        row_number() over (order by users.lifetime_value desc, users.user_id asc) as value_rank,
        totals.buying_customers as buying_customers,
        totals.total_revenue as total_revenue
    from users
    cross join totals
),

final as (
    select
        user_id,
        state,
        country,
        segment,
        signed_up_at,
        toStartOfMonth({{ shop_date('signed_up_at') }}) as signup_month,
        first_order_at,
        last_order_at,
        orders,
        lifetime_value,
        avg_order_value,
        avg_basket_units,
        -- n orders over a span make n - 1 intervals: repeat orders per 30 days of that span (at least a day, so
        -- two orders on one day do not divide by zero); null for prospects and one-time buyers, who have no
        -- interval to measure
        if(
            orders < 2, null,
            (orders - 1) / greatest(dateDiff('second', first_order_at, last_order_at) / 86400, 1) * 30
        ) as orders_per_30_days,
        value_rank,
        orders > 0 and value_rank <= ceil(buying_customers * 0.2) as is_top_20_percent,
        {{ ratio('toFloat64(lifetime_value)', 'toFloat64(total_revenue)') }} as revenue_share
    from ranked
)

select * from final
