{{ config(order_by='user_id') }}

-- One row per customer: ordering behaviour, frequency, loyalty, value tier, churn risk and engagement.
with

users as (
    select * from {{ ref('int_grocery__users') }}
),

segmented as (
    select
        user_id,
        total_orders,
        prior_orders,
        history_end_day,
        last_prior_order_day,
        recency_days,
        avg_days_between_orders,
        prior_items,
        reorder_rate,
        avg_basket_size,
        distinct_products,
        multiIf(
            avg_days_between_orders <= 7, 'weekly',
            avg_days_between_orders <= 14, 'fortnightly',
            avg_days_between_orders <= 21, 'triweekly',
            'monthly'
        ) as frequency_segment,
        multiIf(
            reorder_rate >= 0.6, 'loyal',
            reorder_rate >= 0.3, 'regular',
            'explorer'
        ) as loyalty_segment,
        multiIf(
            prior_items >= 300, 'high',
            prior_items >= 100, 'medium',
            'low'
        ) as value_tier,
        -- churn risk compares the time since the last order with the customer's own rhythm
        multiIf(
            recency_days >= 30 or recency_days > 2 * coalesce(avg_days_between_orders, 30), 'high',
            recency_days > coalesce(avg_days_between_orders, 30), 'medium',
            'low'
        ) as churn_risk,
        -- 0-100: orders (up to 50), reorder rate and basket size (up to 20 items), equally weighted
        round(
            100 * (
                least(prior_orders, 50) / 50
                + coalesce(reorder_rate, 0)
                + least(coalesce(avg_basket_size, 0), 20) / 20
            ) / 3,
            1
        ) as engagement_score
    from users
)

select * from segmented
